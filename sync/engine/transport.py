"""dulwich's smart-HTTP client over a ``requests.Session`` (so netguard and ``responses`` apply).

Bodies are streamed both ways: responses are read in pieces as dulwich asks for them and large
request bodies go out chunked, so memory stays bounded by dulwich's buffers, not by the repository.
Only http(s) URLs are accepted; the password goes in an Authorization header and never in a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3.exceptions
from dulwich.client import AbstractHttpGitClient
from dulwich.errors import GitProtocolError, HangupException

from core.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    RemoteNotFound,
    UnsafeAddress,
)

USER_AGENT = "coregit-sync (dulwich)"
MAX_REDIRECTS = 5
SEND_CHUNK = 256 * 1024  # bytes per write of a streamed request body
DEFAULT_TIMEOUT = (15.0, 300.0)  # connect, per-read: packing a big repo can take minutes server-side


def safe_remote_url(url: str) -> str:
    """The URL if it is a plain http(s) address with a host and no embedded credentials."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise UnsafeAddress("The remote is not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeAddress("Only http:// and https:// git remotes are supported")
    if not parts.hostname:
        raise UnsafeAddress("The remote URL has no host")
    if parts.username or parts.password:
        raise UnsafeAddress("Credentials must not be embedded in the remote URL")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


class _Response:
    """The slice of urllib3's response dulwich uses, reading exact byte counts from the stream."""

    def __init__(self, resp: requests.Response, requested_url: str) -> None:
        self._resp = resp
        self.status = resp.status_code
        self.content_type = resp.headers.get("Content-Type")
        self.redirect_location = resp.url if resp.url != requested_url else ""
        self.bytes_read = 0

    def read(self, amt: int | None = None) -> bytes:
        try:
            if amt is None:
                data = self._resp.raw.read(decode_content=True)
            else:
                data = self._read_exactly(amt)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise ProviderUnavailable(
                f"The connection to the remote broke: {type(exc).__name__}"
            ) from exc
        self.bytes_read += len(data)
        return data

    def _read_exactly(self, amt: int) -> bytes:
        # dulwich's pkt-line reader expects read(n) to block until n bytes (or EOF).
        chunks: list[bytes] = []
        want = amt
        while want > 0:
            chunk = self._resp.raw.read(want, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            want -= len(chunk)
        return b"".join(chunks)

    def geturl(self) -> str:
        return self._resp.url

    def close(self) -> None:
        self._resp.close()


class RequestsHttpGitClient(AbstractHttpGitClient):
    """Smart-HTTP git client whose requests go through the given session."""

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session,
        username: str | None = None,
        password: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        thin_packs: bool = True,
    ) -> None:
        super().__init__(
            safe_remote_url(url), thin_packs=thin_packs, quiet=True,
            username=username, password=password,
        )
        self._session = session
        self._auth = (username or "", password or "") if (username or password) else None
        self._timeout = timeout
        self.bytes_received = 0
        self.requests_made = 0
        self._display_url = self._base_url.rstrip("/")
        self._origin = _origin(self._base_url)

    def _http_request(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        data: bytes | Iterator[bytes] | None = None,
        raise_for_status: bool = True,
    ) -> tuple[_Response, Callable[[int], bytes]]:
        safe_remote_url(url)  # dulwich may rebase on a redirect: stay on http(s)
        req_headers = {"User-Agent": USER_AGENT, "Pragma": "no-cache", **(headers or {})}
        method = "GET" if data is None else "POST"
        if data is not None and not isinstance(data, bytes):
            data = _coalesced(data)
        resp = self._send(method, url, req_headers, data)
        if raise_for_status and resp.status_code != 200:
            resp.close()
            raise self._status_error(resp)
        wrapped = _Response(resp, url)
        return wrapped, self._counting_reader(wrapped)

    def _send(self, method: str, url: str, headers: dict, data) -> requests.Response:
        """One request; GET redirects are followed by hand and only within the remote's origin:
        dulwich rebases every later request (with our credentials) on wherever it ends up."""
        for _ in range(MAX_REDIRECTS + 1):
            try:
                resp = self._session.request(
                    method, url, headers=headers, data=data, auth=self._auth, stream=True,
                    timeout=self._timeout, allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise ProviderUnavailable(
                    f"Could not reach {self._display_url}: {type(exc).__name__}"
                ) from exc
            self.requests_made += 1
            if method != "GET" or not resp.is_redirect:
                return resp
            url = urljoin(url, resp.headers["Location"])
            resp.close()
            if _origin(url) != self._origin:
                raise ProviderError(
                    f"{self._display_url} redirected to another host ({_origin(url)[1]}); "
                    "not followed, so the credentials stay with the configured remote"
                )
            safe_remote_url(url)
        raise ProviderError(f"{self._display_url} redirected too many times")

    def _counting_reader(self, resp: _Response) -> Callable[[int], bytes]:
        def read(amt: int | None = None) -> bytes:
            data = resp.read(amt)
            self.bytes_received += len(data)
            return data

        return read  # type: ignore[return-value]

    def _status_error(self, resp: requests.Response) -> ProviderError:
        status = resp.status_code
        where = self._display_url
        if status in (401, 403):
            return ProviderAuthError(
                f"{where} rejected the credentials (HTTP {status})", status=status
            )
        if status == 404:
            return RemoteNotFound(
                f"{where} has no such repository, or the credentials cannot see it", status=status
            )
        if status == 429:
            retry = _retry_after(resp.headers.get("Retry-After"))
            return ProviderRateLimited(
                f"{where} is rate limiting requests (HTTP 429)", retry_after=retry, status=status
            )
        if status >= 500:
            return ProviderUnavailable(f"{where} failed (HTTP {status})", status=status)
        return ProviderError(f"{where} answered HTTP {status}", status=status)


def _coalesced(chunks: Iterator[bytes], size: int = SEND_CHUNK) -> Iterator[bytes]:
    """A streamed body in pieces of at least ``size`` bytes: dulwich yields every object's
    header and data separately (tens of bytes each); sent as they come, each becomes its own
    chunk and write, and small writes stall on Nagle's algorithm and delayed ACKs."""
    buf: list[bytes] = []
    held = 0
    for chunk in chunks:
        buf.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(buf)
            buf, held = [], 0
    if buf:
        yield b"".join(buf)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _retry_after(value: str | None) -> float:
    try:
        return float(value) if value else 60.0
    except ValueError:
        return 60.0


def make_client(remote, session: requests.Session, **kw) -> RequestsHttpGitClient:
    """A client for a ``GitAccess``-like remote (url, username, password)."""
    return RequestsHttpGitClient(
        remote.url, session=session, username=remote.username or None,
        password=remote.password or None, **kw,
    )


@contextmanager
def git_errors(remote_label: str) -> Iterator[None]:
    """Turn dulwich protocol failures into provider errors (502) with a readable message."""
    try:
        yield
    except ProviderError:
        raise
    except HangupException as exc:
        raise ProviderUnavailable(f"{remote_label} hung up during the git exchange") from exc
    except GitProtocolError as exc:
        raise ProviderError(
            f"{remote_label} did not answer as a git smart-HTTP server: {_first_line(exc)}"
        ) from exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
