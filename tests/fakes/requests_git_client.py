"""Minimal dulwich smart-HTTP client over `requests`, so `responses` can intercept git traffic.

    client = RequestsHttpGitClient(fake.git_url("o/r"), username="x-access-token", password=tok)
    local = Repo.init_bare(path)
    result = client.fetch("", local, depth=1)   # FetchPackResult: .refs, .symrefs
"""

from __future__ import annotations

import functools

import requests
from dulwich.client import AbstractHttpGitClient, HTTPUnauthorized
from dulwich.errors import GitProtocolError, NotGitRepository


class _Response:
    def __init__(self, resp: requests.Response, url: str):
        self._resp = resp
        self.status = resp.status_code
        self.headers = resp.headers
        self.content_type = resp.headers.get("Content-Type")
        self.redirect_location = resp.url if resp.url != url else ""

    def close(self) -> None:
        self._resp.close()


class RequestsHttpGitClient(AbstractHttpGitClient):
    def __init__(self, base_url: str, *, username: str | None = None,
                 password: str | None = None, session: requests.Session | None = None,
                 timeout: float = 30, **kwargs):
        super().__init__(base_url, username=username, password=password, **kwargs)
        self._session = session or requests.Session()
        self._timeout = timeout

    def _get_url(self, path):
        if isinstance(path, bytes):
            path = path.decode()
        return (self._base_url + path.lstrip("/")).rstrip("/") + "/"

    def _http_request(self, url, headers=None, data=None, raise_for_status=True):
        req_headers = {"Pragma": "no-cache", **(headers or {})}
        auth = None
        if self._username is not None:
            auth = (self._username, self._password or "")
        if data is not None and not isinstance(data, bytes):
            data = b"".join(data)
        method = "GET" if data is None else "POST"
        try:
            resp = self._session.request(method, url, headers=req_headers, data=data, auth=auth,
                                         stream=True, timeout=self._timeout)
        except requests.RequestException as exc:
            raise GitProtocolError(str(exc)) from exc
        if raise_for_status:
            if resp.status_code == 404:
                raise NotGitRepository
            if resp.status_code == 401:
                raise HTTPUnauthorized(resp.headers.get("WWW-Authenticate"), url)
            if resp.status_code != 200:
                raise GitProtocolError(f"unexpected http resp {resp.status_code} for {url}")
        return _Response(resp, url), functools.partial(resp.raw.read, decode_content=True)
