"""Routes under /v1. Repo-scoped routes exist as ``repos/<slug>/…`` and ``repos/<ns>/<slug>/…``."""

from django.urls import path

from accounts.apis import KeyDeleteApi, KeyListCreateApi
from repos.apis import RepoDetailApi, RepoListCreateApi


def repo_routes(suffix: str, view, name: str) -> list:
    """Both spellings of a repository-scoped route."""
    return [
        path(f"repos/<str:slug>{suffix}", view, name=name),
        path(f"repos/<str:namespace>/<str:slug>{suffix}", view, name=f"{name}-ns"),
    ]


urlpatterns = [
    path("keys", KeyListCreateApi.as_view(), name="keys"),
    path("keys/<str:key_id>", KeyDeleteApi.as_view(), name="key-detail"),
    path("repos", RepoListCreateApi.as_view(), name="repos"),
]
# Specific repository sub-routes are added above this line by later apps (sync, credentials);
# the bare repository route comes last so "repos/x/sync" never reads as namespace x, slug sync.
urlpatterns += repo_routes("", RepoDetailApi.as_view(), "repo-detail")
