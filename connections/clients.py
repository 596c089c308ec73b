"""Building provider clients for a stored (or about-to-be-stored) connection.

This is the only place that picks a provider class. Self-hosted hosts get a session pinned by the
URL guard, so a host that later resolves to a private address is refused at connect time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import requests

from connections.models import Connection
from connections.providers.base import ProviderClient
from connections.providers.github import GitHubClient
from connections.providers.github_app import GitHubAppAuth, MemoryTokenCache, TokenCache
from connections.providers.gitlab import GitLabClient
from core.netguard import pinned_session

PROVIDER_NAMES = {"github": "GitHub", "gitlab": "GitLab"}


@dataclass(frozen=True)
class Credentials:
    """What a connection authenticates with, before or after it is stored."""

    provider: str
    method: str = "token"
    host: str = ""
    access_token: str = ""
    app_id: str = ""
    installation_id: str = ""
    private_key: str = ""

    def __repr__(self) -> str:  # never print the secrets
        return f"Credentials(provider={self.provider!r}, method={self.method!r}, host={self.host!r})"


def session_for(host: str) -> requests.Session | None:
    return pinned_session() if host else None


def app_auth(creds: Credentials, cache: TokenCache | None = None) -> GitHubAppAuth:
    return GitHubAppAuth(
        creds.app_id, creds.installation_id, creds.private_key,
        host=creds.host or None, session=session_for(creds.host), cache=cache or MemoryTokenCache(),
    )


def build_client(creds: Credentials, *, cache: TokenCache | None = None) -> ProviderClient:
    session = session_for(creds.host)
    host = creds.host or None
    if creds.provider == "gitlab":
        return GitLabClient(lambda: creds.access_token, host=host, session=session)
    if creds.method == "github_app":
        auth = app_auth(creds, cache)
        return GitHubClient(auth.installation_token, host=host, session=session)
    return GitHubClient(lambda: creds.access_token, host=host, session=session)


class StoredTokenCache:
    """Installation tokens cached on the connection row, encrypted like every other secret."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self) -> tuple[str, datetime] | None:
        conn = self.connection
        if not conn.cached_token_ciphertext or conn.cached_token_expires_at is None:
            return None
        return conn.get_secret("cached_token_ciphertext"), conn.cached_token_expires_at

    def set(self, token: str, expires_at: datetime) -> None:
        conn = self.connection
        conn.set_secret("cached_token_ciphertext", token)
        conn.cached_token_expires_at = expires_at
        type(conn).objects.filter(pk=conn.pk).update(
            cached_token_ciphertext=conn.cached_token_ciphertext,
            cached_token_expires_at=expires_at,
        )

    def __repr__(self) -> str:
        return f"StoredTokenCache({self.connection.pk})"


def stored_credentials(connection: Connection) -> Credentials:
    secret = connection.get_secret("secret_ciphertext")
    app = connection.method == Connection.Method.GITHUB_APP
    return Credentials(
        provider=connection.provider, method=connection.method, host=connection.host,
        access_token="" if app else secret, app_id=connection.app_id,
        installation_id=connection.installation_id, private_key=secret if app else "",
    )


def connection_client(connection: Connection) -> ProviderClient:
    """The provider client for a stored connection (what the sync engine uses)."""
    client = build_client(stored_credentials(connection), cache=StoredTokenCache(connection))
    client.metrics_label = connection.pk
    return client
