"""HttpClient: session set-up, the error mapping of ``_request()`` and ``_paginate()``."""

from email.utils import formatdate

import pytest
import requests
from requests.adapters import HTTPAdapter
from responses import matchers

from connections.providers.http import USER_AGENT, HttpClient, new_session
from core.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from tests.connections.providers.conftest import NOW, TOKEN, clock

API = "https://api.github.com"
USER = f"{API}/user"


class Probe(HttpClient):
    provider_name = "GitHub"

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def probe():
    return Probe(API, clock=clock)


def _raise(probe, **kw):
    with pytest.raises(ProviderError) as info:
        probe._request("GET", "/user", **kw)
    return info.value


# --- session --------------------------------------------------------------------------------------
def test_new_session_retries_connect_errors_only():
    session = new_session()
    assert session.headers["User-Agent"] == USER_AGENT
    retry = session.get_adapter("https://api.github.com").max_retries
    assert retry.connect == 3
    assert retry.read is False
    assert retry.status == 0 and not retry.status_forcelist
    assert retry.respect_retry_after_header is False


def test_given_session_is_used_and_its_custom_adapter_kept(mock_api):
    session = requests.Session()

    class Pinned(HTTPAdapter):
        pass

    pinned = Pinned()
    session.mount("https://", pinned)
    client = Probe(API, session=session)
    assert client.session is session
    assert session.get_adapter(API) is pinned
    assert pinned.max_retries.connect == 3  # our connect retries installed on their adapter
    mock_api.get(USER, json={"login": "octocat"})
    assert client._request("GET", "/user").json() == {"login": "octocat"}


def test_request_headers_and_timeout(mock_api, probe):
    mock_api.get(USER, json={"login": "octocat"})
    probe._request("GET", "/user", headers={"X-Extra": "1"})
    sent = mock_api.calls[0].request
    assert sent.headers["User-Agent"] == USER_AGENT
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["X-Extra"] == "1"
    assert sent.req_kwargs["timeout"] == (5.0, 30.0)


def test_unexpected_success_status_is_an_error(mock_api, probe):
    mock_api.get(USER, status=204)
    exc = _raise(probe)
    assert type(exc) is ProviderError and exc.status == 204


def test_body_that_is_not_json_is_transient(mock_api, probe):
    mock_api.get(USER, body="<html>proxy</html>")
    with pytest.raises(ProviderUnavailable):
        probe._json(probe._request("GET", "/user"))


# --- error mapping --------------------------------------------------------------------------------
def test_401_message_names_provider_status_and_reason(mock_api, probe):
    mock_api.get(USER, status=401, json={"message": "Bad credentials"})
    exc = _raise(probe)
    assert isinstance(exc, ProviderAuthError) and not exc.transient
    assert str(exc) == "GitHub token validation failed: 401 Bad credentials"
    assert exc.status == 401


def test_403_without_rate_limit_is_permission(mock_api, probe):
    mock_api.get(
        USER,
        status=403,
        json={"message": "Resource not accessible by integration"},
        headers={"x-ratelimit-remaining": "4999"},
    )
    exc = _raise(probe)
    assert isinstance(exc, ProviderAuthError)
    assert "403 Resource not accessible by integration" in str(exc)


def test_403_primary_rate_limit_waits_until_reset(mock_api, probe):
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 120)}
    mock_api.get(USER, status=403, json={"message": "API rate limit exceeded"}, headers=headers)
    exc = _raise(probe)
    assert isinstance(exc, ProviderRateLimited) and exc.transient
    assert exc.retry_after == 120


def test_403_secondary_rate_limit_honours_retry_after(mock_api, probe):
    msg = "You have exceeded a secondary rate limit. Please wait a few minutes."
    mock_api.get(USER, status=403, json={"message": msg}, headers={"retry-after": "30"})
    exc = _raise(probe)
    assert isinstance(exc, ProviderRateLimited) and exc.retry_after == 30


def test_403_secondary_rate_limit_without_headers_waits_a_minute(mock_api, probe):
    mock_api.get(USER, status=403, json={"message": "You have exceeded a secondary rate limit"})
    exc = _raise(probe)
    assert isinstance(exc, ProviderRateLimited) and exc.retry_after == 60


def test_429_retry_after_seconds_and_http_date(mock_api, probe):
    mock_api.get(USER, status=429, headers={"Retry-After": "7"})
    assert _raise(probe).retry_after == 7
    mock_api.replace(
        "GET", USER, status=429, headers={"Retry-After": formatdate(NOW + 90, usegmt=True)}
    )
    exc = _raise(probe)
    assert isinstance(exc, ProviderRateLimited) and exc.retry_after == 90


def test_429_falls_back_to_gitlab_ratelimit_reset(mock_api, probe):
    mock_api.get(USER, status=429, headers={"RateLimit-Reset": str(int(NOW) + 45)})
    assert _raise(probe).retry_after == 45


def test_rate_limit_reset_in_the_past_means_no_wait(mock_api, probe):
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 5)}
    mock_api.get(USER, status=403, json={"message": "API rate limit exceeded"}, headers=headers)
    assert _raise(probe).retry_after == 0


@pytest.mark.parametrize(
    ("status", "body", "cls", "text"),
    [
        (404, {"message": "Not Found"}, ProviderNotFound, "404 Not Found"),
        (
            409,
            {"message": "Git Repository is empty."},
            ProviderRejected,
            "409 Git Repository is empty.",
        ),
        (
            422,
            {"message": "Update is not a fast forward"},
            ProviderRejected,
            "422 Update is not a fast forward",
        ),
        (400, {"message": "Problems parsing JSON"}, ProviderRejected, "400 Problems parsing JSON"),
        (500, {"message": "Server Error"}, ProviderUnavailable, "500 Server Error"),
        (502, None, ProviderUnavailable, "502 Bad Gateway"),
        (503, None, ProviderUnavailable, "503 Service Unavailable"),
    ],
)
def test_status_mapping(mock_api, probe, status, body, cls, text):
    mock_api.get(USER, status=status, json=body) if body else mock_api.get(USER, status=status)
    exc = _raise(probe)
    assert type(exc) is cls
    assert exc.status == status
    assert text in str(exc) and "GET /user" in str(exc)
    assert exc.transient is (status >= 500)


def test_422_includes_github_validation_errors(mock_api, probe):
    body = {
        "message": "Validation Failed",
        "errors": [{"resource": "Hook", "code": "custom", "message": "Hook already exists"}],
    }
    mock_api.get(USER, status=422, json=body)
    assert "422 Validation Failed: Hook already exists" in str(_raise(probe))


@pytest.mark.parametrize(
    "error", [requests.ConnectionError("refused"), requests.ReadTimeout("slow")]
)
def test_network_errors_are_transient(mock_api, probe, error):
    mock_api.get(USER, body=error)
    exc = _raise(probe)
    assert isinstance(exc, ProviderUnavailable) and exc.transient
    assert "could not be reached" in str(exc)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429, 500, 502])
def test_token_never_in_error_even_when_echoed(mock_api, probe, status):
    mock_api.get(USER, status=status, json={"message": f"token {TOKEN} is bad"})
    exc = _raise(probe)
    assert TOKEN not in str(exc) and TOKEN not in repr(exc.args)
    assert "***" in str(exc)


# --- pagination -----------------------------------------------------------------------------------
def test_paginate_follows_link_header_across_three_pages(mock_api, probe):
    hooks = f"{API}/repos/o/r/hooks"
    for page, nxt in ((None, 2), (2, 3), (3, None)):
        query = {"per_page": "100", **({"page": str(page)} if page else {})}
        headers = {"Link": f'<{hooks}?per_page=100&page={nxt}>; rel="next"'} if nxt else {}
        mock_api.get(
            hooks,
            json=[{"id": page or 1}],
            headers=headers,
            match=[matchers.query_param_matcher(query)],
        )
    items = list(probe._paginate("/repos/o/r/hooks", params={"per_page": 100}))
    assert items == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert len(mock_api.calls) == 3


def test_paginate_follows_gitlab_offset_pages(mock_api):
    client = Probe("https://gitlab.com/api/v4")
    tree = "https://gitlab.com/api/v4/projects/g%2Fp/repository/tree"
    for page, nxt in ((None, "2"), ("2", "3"), ("3", "")):
        query = {"ref": "main", **({"page": page} if page else {})}
        mock_api.get(
            tree,
            json=[{"n": page or "1"}],
            headers={"x-next-page": nxt},
            match=[matchers.query_param_matcher(query)],
        )
    items = list(client._paginate("/projects/g%2Fp/repository/tree", params={"ref": "main"}))
    assert [i["n"] for i in items] == ["1", "2", "3"]


def test_paginate_refuses_links_to_another_host(mock_api, probe):
    link = '<https://evil.example/repos/o/r/hooks?page=2>; rel="next"'
    mock_api.get(f"{API}/repos/o/r/hooks", json=[{"id": 1}], headers={"Link": link})
    with pytest.raises(ProviderError, match="outside its API"):
        list(probe._paginate("/repos/o/r/hooks"))
