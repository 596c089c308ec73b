"""The Coregit API client: one httpx session, one ``_request()`` that turns errors into types."""

from __future__ import annotations

import os
from typing import Any

import httpx

from coregit_client.errors import BadRequest, Unreachable, error_from
from coregit_client.resources import Connections, Credentials, Repos
from coregit_client.sync import Sync

DEFAULT_TIMEOUT = 60.0


class Client:
    """``Client(url, api_key)``; both default to ``COREGIT_URL`` and ``COREGIT_API_KEY``."""

    def __init__(self, url: str | None = None, api_key: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT, transport: httpx.BaseTransport | None = None
                 ) -> None:
        url = url or os.environ.get("COREGIT_URL")
        api_key = api_key or os.environ.get("COREGIT_API_KEY")
        if not url:
            raise BadRequest("No server URL: pass url= or set COREGIT_URL")
        if not api_key:
            raise BadRequest("No API key: pass api_key= or set COREGIT_API_KEY")
        self.base_url = _api_base(url)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                  headers={"x-api-key": api_key, "user-agent": "coregit-client"})
        self.connections = Connections(self)
        self.credentials = Credentials(self)
        self.repos = Repos(self)
        self.sync = Sync(self)

    def __repr__(self) -> str:  # never show the key
        return f"Client({self.base_url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, *, json: Any = None,
                 params: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, parsed body); any 4xx/5xx raises the error class its ``code`` names."""
        try:
            resp = self._http.request(method, path.lstrip("/"), json=json, params=_clean(params))
        except httpx.TransportError as exc:
            raise Unreachable(f"Cannot reach {self.base_url}: {type(exc).__name__}: {exc}") from exc
        body = _parse(resp)
        if resp.status_code >= 400:
            raise error_from(resp.status_code, body)
        return resp.status_code, body


def _api_base(url: str) -> str:
    url = url.rstrip("/")
    return url + "/" if url.endswith("/v1") else url + "/v1/"


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: v for k, v in params.items() if v is not None} if params else None


def _parse(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return {"error": resp.text[:500]}
