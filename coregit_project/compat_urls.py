"""Drop-in compatible paths under /api/v1 (seed git-credentials-api.txt)."""

from django.urls import path

from connections.credential_apis import GitCredentialApi

urlpatterns = [
    path("repos/git-credentials", GitCredentialApi.as_view(), name="compat-git-credentials"),
]
