"""GitHub App authentication: an RS256 app JWT, and installation tokens cached until shortly
before they expire.

Use with the REST client: ``GitHubClient(auth.installation_token, host=auth.host)``; every request
then asks for the current token, which is minted again only when the cached one is about to lapse.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

import jwt
import requests

from connections.providers.base import ProviderUser
from connections.providers.github import GITHUB_HEADERS, github_bases
from connections.providers.http import HttpClient
from core.errors import ProviderAuthError, ProviderError

JWT_BACKDATE = 60  # seconds, against clock drift (GitHub's recommendation)
JWT_LIFETIME = 9 * 60  # GitHub accepts at most 10 minutes
REFRESH_MARGIN = 5 * 60  # mint a new installation token this long before expiry


def app_jwt(app_id: int | str, private_key_pem: str | bytes, now: float | None = None) -> str:
    """The app's JWT: ``iat`` = now-60, ``exp`` = now+9min, ``iss`` = app id, signed RS256."""
    issued = int(time.time() if now is None else now)
    claims = {"iat": issued - JWT_BACKDATE, "exp": issued + JWT_LIFETIME, "iss": str(app_id)}
    try:
        return jwt.encode(claims, private_key_pem, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        # never echo the key material or the library's view of it
        raise ProviderAuthError(
            "GitHub App private key is not a valid RSA private key (PEM)"
        ) from None


class TokenCache(Protocol):
    """Where the installation token lives between calls (the Django layer stores it encrypted)."""

    def get(self) -> tuple[str, datetime] | None: ...
    def set(self, token: str, expires_at: datetime) -> None: ...


class MemoryTokenCache:
    def __init__(self) -> None:
        self._value: tuple[str, datetime] | None = None

    def get(self) -> tuple[str, datetime] | None:
        return self._value

    def set(self, token: str, expires_at: datetime) -> None:
        self._value = (token, expires_at)

    def __repr__(self) -> str:  # never print the token
        return "MemoryTokenCache()"


def _parse_expiry(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ProviderError(
            "GitHub returned an installation token without a valid expires_at"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class GitHubAppAuth(HttpClient):
    provider_name = "GitHub"

    def __init__(
        self,
        app_id: int | str,
        installation_id: int | str,
        private_key_pem: str | bytes,
        *,
        host: str | None = None,
        session: requests.Session | None = None,
        cache: TokenCache | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        api_base, _web = github_bases(host)
        super().__init__(api_base, session=session, clock=clock)
        self.host = host
        self.app_id = str(app_id)
        self.installation_id = str(installation_id)
        self._private_key = private_key_pem
        self.cache: TokenCache = cache if cache is not None else MemoryTokenCache()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GitHubAppAuth(app_id={self.app_id!r}, installation_id={self.installation_id!r})"

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {app_jwt(self.app_id, self._private_key, self._clock())}"}

    def _default_headers(self) -> dict[str, str]:
        return dict(GITHUB_HEADERS)

    def _installation_path(self) -> str:
        return f"/app/installations/{quote(self.installation_id, safe='')}"

    def get_installation(self) -> ProviderUser:
        """The installation's account login (user, organization, or enterprise slug)."""
        data = self._json(self._request("GET", self._installation_path()))
        account = data.get("account") or {}
        login = account.get("login") or account.get("slug") or account.get("name")
        if not login:
            raise ProviderError("GitHub installation has no account")
        return ProviderUser(username=login)

    def installation_token(self) -> str:
        """The cached installation token, minted again within 5 minutes of its expiry."""
        with self._lock:
            cached = self.cache.get()
            if cached and cached[1].timestamp() - REFRESH_MARGIN > self._clock():
                return cached[0]
            resp = self._request(
                "POST", f"{self._installation_path()}/access_tokens", expected=(201,)
            )
            data = self._json(resp)
            token, expires_at = data.get("token"), _parse_expiry(data.get("expires_at"))
            if not token:
                raise ProviderError("GitHub returned no installation token")
            self.cache.set(token, expires_at)
            return token

    __call__ = installation_token  # usable directly as a GitHubClient token provider
