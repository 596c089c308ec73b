"""Shared HTTP plumbing for the provider clients: one session, one ``_request()``, one pager.

Every provider call goes through :meth:`HttpClient._request`, which applies the timeouts, the
headers and the mapping of HTTP failures onto ``core.errors``. Connection errors are retried by
urllib3 (only *connect* failures: the request never reached the server, so it is safe for POST);
status codes are never retried here: exports repeat one failed call in place
(``sync.engine.api_common.with_retries``, which knows which calls are safe to repeat), and the
sync task decides about the run with ``ProviderError.transient``.

Error messages carry the provider name, the status, the provider's own ``message`` and the method
and path, never a header value: the credential only travels in ``Authorization``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from observability.series import rate_limit_seen

USER_AGENT = "coregit-sync/1.0"
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)  # (connect, read)
DEFAULT_RATE_LIMIT_WAIT = 60.0  # GitHub: "wait at least one minute" when no header says more
MAX_PAGES = 1000
_MAX_MESSAGE = 300
_TRANSIENT_IO = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def connect_retry() -> Retry:
    """Retry connection failures only; never read errors (not idempotent) nor status codes."""
    return Retry(
        total=None,
        connect=3,
        read=False,
        status=0,
        other=0,
        backoff_factor=0.5,
        status_forcelist=(),
        raise_on_status=False,
        respect_retry_after_header=False,
    )


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(max_retries=connect_retry())
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _install_retry(session: requests.Session) -> None:
    """Give adapters of a caller's session (e.g. netguard's pinned one) our connect retries,
    without replacing the adapters themselves; an adapter with its own retry policy is kept."""
    for adapter in session.adapters.values():
        if isinstance(adapter, HTTPAdapter) and not adapter.max_retries.total:
            adapter.max_retries = connect_retry()


def normalize_host(host: str) -> str:
    """``github.example.com`` / ``https://github.example.com/`` -> ``https://github.example.com``."""
    host = host.strip().rstrip("/")
    return host if "://" in host else f"https://{host}"


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "; ".join(f"{k} {_flatten(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_flatten(v) for v in value)
    return "" if value is None else str(value)


def provider_message(resp: requests.Response) -> str:
    """The provider's own explanation: GitHub/GitLab ``message`` (plus GitHub's ``errors``),
    OAuth ``error_description``/``error``, else the HTTP reason phrase."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    text = ""
    if isinstance(data, dict):
        text = _flatten(data.get("message") or data.get("error_description") or data.get("error"))
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            parts = [
                e.get("message") or e.get("code") if isinstance(e, dict) else e for e in errors
            ]
            text = f"{text}: {_flatten([p for p in parts if p])}".strip(": ")
    text = text or resp.reason or ""
    return text[:_MAX_MESSAGE]


class HttpClient:
    """Base of the provider clients; subclasses set ``provider_name`` and ``_auth_headers()``."""

    provider_name = "Provider"
    metrics_label = ""  # the connection id, for the rate-limit series (never the credential)

    def __init__(
        self,
        api_base: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        if session is None:
            session = new_session()
        else:
            _install_retry(session)
        self.session = session
        self.timeout = timeout
        self._clock = clock or time.time

    # --- subclass hooks -------------------------------------------------------------------------
    def _auth_headers(self) -> dict[str, str]:
        return {}

    def _default_headers(self) -> dict[str, str]:
        return {}

    # --- the one request path -------------------------------------------------------------------
    def _url(self, path_or_url: str) -> str:
        if "://" not in path_or_url:
            return f"{self.api_base}/{path_or_url.lstrip('/')}"
        base, url = urlsplit(self.api_base), urlsplit(path_or_url)
        same = (url.scheme, url.netloc.lower()) == (base.scheme, base.netloc.lower())
        if not same or not url.path.startswith(base.path):
            raise ProviderError(
                f"{self.provider_name} returned a link outside its API; not followed"
            )
        return path_or_url

    def _request(
        self,
        method: str,
        path_or_url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        expected: tuple[int, ...] = (200,),
        headers: Mapping[str, str] | None = None,
        stream_json: Iterable[bytes] | None = None,
    ) -> requests.Response:
        """``stream_json``: a JSON body as byte pieces, sent as they are produced (chunked), so
        large file content is never assembled in memory (``connections.providers.streaming``)."""
        url = self._url(path_or_url)
        auth = self._auth_headers()
        merged = {"User-Agent": USER_AGENT, **self._default_headers(), **(headers or {}), **auth}
        if stream_json is not None:
            merged["Content-Type"] = "application/json"
        where = f"{method} {urlsplit(url).path}"
        try:
            resp = self.session.request(
                method, url, json=json, params=params, headers=merged, timeout=self.timeout,
                data=stream_json,
            )
        except _TRANSIENT_IO as exc:
            raise ProviderUnavailable(
                f"{self.provider_name} could not be reached ({type(exc).__name__}, {where})"
            ) from exc
        except requests.RequestException as exc:
            raise ProviderError(
                f"{self.provider_name} request failed ({type(exc).__name__}, {where})"
            ) from exc
        rate_limit_seen(provider=self.provider_name, connection=self.metrics_label, headers=resp.headers)
        if resp.status_code in expected:
            return resp
        secrets = [v.split(" ", 1)[-1] for v in auth.values()]
        raise self._error(resp, where, secrets)

    def _json(self, resp: requests.Response) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise ProviderUnavailable(
                f"{self.provider_name} answered {resp.status_code} with a body that is not JSON"
            ) from None

    def _paginate(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[Any]:
        """Yield the items of every page: ``Link: <…>; rel="next"`` (GitHub, GitLab keyset) or
        GitLab's offset ``x-next-page`` header."""
        url: str = path
        query: dict[str, Any] | None = dict(params or {})
        for _ in range(MAX_PAGES):
            resp = self._request("GET", url, params=query, headers=headers)
            page = self._json(resp)
            if not isinstance(page, list):
                raise ProviderError(f"{self.provider_name} returned a non-list page for {path}")
            yield from page
            link = resp.links.get("next", {}).get("url")
            next_page = resp.headers.get("x-next-page", "").strip()
            if link:
                url, query = link, None  # the link carries every query parameter
            elif next_page:
                url, query = path, {**(params or {}), "page": next_page}
            else:
                return
        raise ProviderError(f"{self.provider_name} listing {path} has more than {MAX_PAGES} pages")

    # --- error mapping --------------------------------------------------------------------------
    def _error(self, resp: requests.Response, where: str, secrets: list[str]) -> ProviderError:
        status, name = resp.status_code, self.provider_name
        msg = provider_message(resp)
        text = msg if msg.startswith(str(status)) else f"{status} {msg}".strip()
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        if status == 401:
            return ProviderAuthError(f"{name} token validation failed: {text}", status=status)
        if status == 403 and self._is_rate_limited(resp, msg):
            return ProviderRateLimited(
                f"{name} rate limit exceeded: {text}",
                retry_after=self._retry_after(resp),
                status=status,
            )
        if status == 403:
            return ProviderAuthError(f"{name} denied access: {text} ({where})", status=status)
        if status == 404:
            return ProviderNotFound(f"{name} has no such resource: {text} ({where})", status=status)
        if status in (400, 409, 422):
            return ProviderRejected(f"{name} rejected the request: {text} ({where})", status=status)
        if status == 429:
            return ProviderRateLimited(
                f"{name} rate limit exceeded: {text}",
                retry_after=self._retry_after(resp),
                status=status,
            )
        if status >= 500:
            return ProviderUnavailable(f"{name} is unavailable: {text} ({where})", status=status)
        return ProviderError(f"{name} answered with unexpected {text} ({where})", status=status)

    @staticmethod
    def _is_rate_limited(resp: requests.Response, msg: str) -> bool:
        return (
            resp.headers.get("x-ratelimit-remaining", "").strip() == "0"
            or "retry-after" in resp.headers
            or "rate limit" in msg.lower()
        )

    def _retry_after(self, resp: requests.Response) -> float:
        """Seconds to wait: ``Retry-After`` (seconds or HTTP date), else the reset epoch of
        ``x-ratelimit-reset`` (GitHub) / ``RateLimit-Reset`` (GitLab) minus now, else 60."""
        now = self._clock()
        value = resp.headers.get("retry-after", "").strip()
        if value:
            if value.isdigit():
                return float(value)
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError):
                pass
        for header in ("x-ratelimit-reset", "ratelimit-reset"):
            reset = resp.headers.get(header, "").strip()
            if reset.isdigit():
                return max(0.0, int(reset) - now)
        return DEFAULT_RATE_LIMIT_WAIT


TokenProvider = Callable[[], str]


class TokenClient(HttpClient):
    """A client authenticated by a bearer token, or by a callable returning the current one
    (GitHub App installation tokens are minted and refreshed behind such a callable).

    Subclasses name their ``bases(host) -> (api_base, web_base)``: cloud when ``host`` is None.
    """

    bases: Callable[[str | None], tuple[str, str]]

    def __init__(
        self,
        token_provider: TokenProvider | str,
        *,
        host: str | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        api_base, self.web_base = type(self).bases(host)
        super().__init__(api_base, session=session, clock=clock)
        if isinstance(token_provider, str):
            token = token_provider
            self._token: TokenProvider = lambda: token
        else:
            self._token = token_provider

    def _auth_headers(self) -> dict[str, str]:
        # Bearer works for GitHub PATs and app tokens, and GitLab personal/group/OAuth tokens.
        return {"Authorization": f"Bearer {self._token()}"}
