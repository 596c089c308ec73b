"""Generic git hosts over smart HTTP: ask the ref advertisement whether a credential may read
(``git-upload-pack``) or push (``git-receive-pack``) a repository, without transferring objects.

Used when a sync config is created or changed, as ``POST /v1/connections`` checks its token. The
answers map onto ``core.errors``: 401/403 and 404 are the user's to fix (422), 5xx and
connection failures mean the host failed (502).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from connections.providers.http import DEFAULT_TIMEOUT, USER_AGENT
from core.errors import (
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    RemoteAccessDenied,
    RemoteNotFound,
)

MAX_ADVERTISEMENT = 4 * 1024 * 1024  # enough for tens of thousands of refs; beyond: not parsed


@dataclass(frozen=True)
class Advertisement:
    refs: frozenset[str]
    complete: bool  # False when the advertisement was too large to read whole

    def has_branch(self, branch: str) -> bool | None:
        """True/False, or None when the advertisement was cut short and cannot tell."""
        if f"refs/heads/{branch}" in self.refs:
            return True
        return False if self.complete else None


class GitHttpClient:
    def __init__(self, url: str, *, username: str, password: str,
                 session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self.auth = (username or "git", password) if password else None
        self.session = session or requests.Session()
        parts = urlsplit(self.url)
        self.display = f"{parts.hostname}{parts.path}"

    def advertise(self, *, write: bool = False) -> Advertisement:
        service = "git-receive-pack" if write else "git-upload-pack"
        resp = self._request(f"{self.url}/info/refs", params={"service": service})
        try:
            if resp.headers.get("Content-Type", "") != f"application/x-{service}-advertisement":
                raise RemoteNotFound(f"{self.display} is not a git repository served over smart "
                                     f"HTTP (no {service} advertisement)")
            body = resp.raw.read(MAX_ADVERTISEMENT + 1, decode_content=True)
        finally:
            resp.close()
        complete = len(body) <= MAX_ADVERTISEMENT
        return Advertisement(refs=frozenset(_ref_names(body[:MAX_ADVERTISEMENT])),
                             complete=complete)

    def _request(self, url: str, *, params: dict) -> requests.Response:
        try:
            resp = self.session.get(url, params=params, auth=self.auth, stream=True,
                                    timeout=DEFAULT_TIMEOUT, allow_redirects=False,
                                    headers={"User-Agent": USER_AGENT})
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ProviderUnavailable(
                f"{self.display} could not be reached ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise ProviderError(f"{self.display} request failed ({type(exc).__name__})") from exc
        if resp.status_code == 200:
            return resp
        resp.close()
        raise self._error(resp.status_code, params["service"])

    def _error(self, status: int, service: str) -> ProviderError:
        action = "push to" if service == "git-receive-pack" else "read"
        if status in (401, 403):
            return RemoteAccessDenied(f"{self.display} refused the credential the right to "
                                      f"{action} it (HTTP {status})", status=status)
        if 300 <= status < 400:
            return RemoteNotFound(f"{self.display} redirects elsewhere (HTTP {status}); use the "
                                  f"repository's final URL", status=status)
        if status == 404:
            return RemoteNotFound(f"{self.display} has no such repository, or the credential "
                                  f"cannot see it (HTTP 404)", status=status)
        if status == 429:
            return ProviderRateLimited(f"{self.display} is rate limiting (HTTP 429)",
                                       retry_after=60, status=status)
        if status >= 500:
            return ProviderUnavailable(f"{self.display} failed (HTTP {status})", status=status)
        return ProviderError(f"{self.display} answered HTTP {status}", status=status)


def _ref_names(body: bytes) -> set[str]:
    """Ref names from a v0/v1 advertisement: pkt-lines ``<sha> <ref>[\\0caps]\\n``."""
    names: set[str] = set()
    pos = 0
    while pos + 4 <= len(body):
        try:
            size = int(body[pos:pos + 4], 16)
        except ValueError:
            break
        if size < 4:  # flush/delim packet
            pos += 4
            continue
        line = body[pos + 4:pos + size].split(b"\0", 1)[0].rstrip(b"\n")
        pos += size
        sha, _, ref = line.partition(b" ")
        if len(sha) in (40, 64) and ref.startswith(b"refs/"):
            names.add(ref.decode("utf-8", "replace"))
    return names
