"""Routes under /v1. Repo-scoped routes exist as ``repos/<slug>/…`` and ``repos/<ns>/<slug>/…``."""

from django.urls import include, path

from accounts.apis import KeyDeleteApi, KeyListCreateApi
from connections.apis import ConnectionDetailApi, ConnectionListCreateApi, ConnectionTestApi
from connections.credential_apis import GitCredentialApi
from repos.apis import RepoDetailApi, RepoListCreateApi
from sync.apis import SyncConfigApi, SyncHistoryApi, SyncRunDetailApi, SyncTriggerApi
from sync.backup_apis import SyncBackupListApi, SyncBackupRestoreApi
from sync.webhook_secret_apis import SyncWebhookSecretApi


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
    path("repos/git-credentials", GitCredentialApi.as_view(), name="git-credentials"),
    path("connections", ConnectionListCreateApi.as_view(), name="connections"),
    path("connections/<str:connection_id>", ConnectionDetailApi.as_view(), name="connection"),
    path("connections/<str:connection_id>/test", ConnectionTestApi.as_view(),
         name="connection-test"),
]
urlpatterns += [path("", include("events.urls"))]
urlpatterns += repo_routes("/sync/config/webhook-secret", SyncWebhookSecretApi.as_view(),
                           "sync-webhook-secret")
urlpatterns += repo_routes("/sync/config", SyncConfigApi.as_view(), "sync-config")
urlpatterns += repo_routes("/sync/history", SyncHistoryApi.as_view(), "sync-history")
urlpatterns += repo_routes("/sync/runs/<str:run_id>", SyncRunDetailApi.as_view(), "sync-run")
urlpatterns += repo_routes("/sync", SyncTriggerApi.as_view(), "sync-trigger")
urlpatterns += repo_routes("/sync/backups", SyncBackupListApi.as_view(), "sync-backups")
urlpatterns += repo_routes("/sync/backups/restore", SyncBackupRestoreApi.as_view(),
                           "sync-backup-restore")
# Specific repository sub-routes are added above this line by later apps (sync, credentials);
# the bare repository route comes last so "repos/x/sync" never reads as namespace x, slug sync.
urlpatterns += repo_routes("", RepoDetailApi.as_view(), "repo-detail")
