"""GitHubClient: hosts, account, repository and git-data reads, shared failure paths."""


import pytest
import requests
from responses import matchers

from connections.providers.base import GitAccess, RemoteCommit, RemoteTreeEntry
from connections.providers.github import GitHubClient, RateLimit, github_bases
from core.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from tests.connections.providers.bodies import sent_json
from tests.connections.providers.conftest import NOW, TOKEN, clock
from tests.support.openapi import github_example

API = "https://api.github.com"
REPO = f"{API}/repos/octocat/Hello-World"
SHA = "aa218f56b14c9653891f9e74264a383fa43fefbd"


@pytest.fixture
def gh():
    return GitHubClient(lambda: TOKEN, clock=clock)


def body(call) -> dict:
    return sent_json(call.request)


# --- hosts, headers, account ----------------------------------------------------------------------
def test_bases_for_cloud_and_enterprise():
    assert github_bases(None) == (API, "https://github.com")
    assert github_bases("https://github.com/") == (API, "https://github.com")
    assert github_bases("https://github.example.com/") == (
        "https://github.example.com/api/v3",
        "https://github.example.com",
    )


def test_get_user_sends_github_headers(mock_api, gh):
    mock_api.get(
        f"{API}/user", json=github_example("private-user-response-with-public-profile-information")
    )
    assert gh.get_user().username == "octocat"
    headers = mock_api.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert headers["User-Agent"] == "coregit-sync/1.0"


def test_get_user_bad_token(mock_api, gh):
    mock_api.get(f"{API}/user", status=401, json={"message": "Bad credentials"})
    with pytest.raises(ProviderAuthError) as info:
        gh.get_user()
    assert str(info.value) == "GitHub token validation failed: 401 Bad credentials"


def test_token_provider_is_asked_on_every_request(mock_api):
    tokens = iter(["ghs_first", "ghs_second"])
    client = GitHubClient(lambda: next(tokens))
    mock_api.get(f"{API}/user", json={"login": "octocat"})
    client.get_user()
    client.get_user()
    auth = [c.request.headers["Authorization"] for c in mock_api.calls]
    assert auth == ["Bearer ghs_first", "Bearer ghs_second"]


def test_enterprise_server_base_url(mock_api):
    client = GitHubClient(lambda: TOKEN, host="https://github.example.com")
    mock_api.get("https://github.example.com/api/v3/user", json={"login": "monalisa"})
    assert client.get_user().username == "monalisa"
    access = client.git_access("octocat/Hello-World")
    assert access.url == "https://github.example.com/octocat/Hello-World.git"


def test_git_access(gh):
    access = gh.git_access("octocat/Hello-World")
    assert access == GitAccess(
        "https://github.com/octocat/Hello-World.git", "x-access-token", TOKEN
    )
    assert TOKEN not in repr(access)


def test_get_rate_limit(mock_api, gh):
    mock_api.get(f"{API}/rate_limit", json=github_example("rate-limit-overview"))
    assert gh.get_rate_limit() == RateLimit(limit=5000, remaining=4999, reset=1691591363)


def test_remote_must_be_owner_slash_repo(gh):
    with pytest.raises(ValueError):
        gh.get_repo("just-a-name")


# --- repository -----------------------------------------------------------------------------------
def test_get_repo_with_content_needs_one_call(mock_api, gh):
    mock_api.get(REPO, json=github_example("full-repository-default-response"))
    repo = gh.get_repo("octocat/Hello-World")
    assert (repo.full_name, repo.default_branch, repo.empty) == (
        "octocat/Hello-World",
        "master",
        False,
    )
    assert len(mock_api.calls) == 1


def test_get_repo_empty_when_size_zero_and_no_branch(mock_api, gh):
    data = {**github_example("full-repository-default-response"), "size": 0}
    mock_api.get(REPO, json=data)
    mock_api.get(
        f"{REPO}/git/ref/heads/master", status=409, json={"message": "Git Repository is empty."}
    )
    assert gh.get_repo("octocat/Hello-World").empty is True


def test_get_repo_size_zero_but_branch_exists_is_not_empty(mock_api, gh):
    mock_api.get(REPO, json={**github_example("full-repository-default-response"), "size": 0})
    mock_api.get(f"{REPO}/git/ref/heads/master", json=github_example("git-ref"))
    assert gh.get_repo("octocat/Hello-World").empty is False


def test_get_repo_not_found(mock_api, gh):
    mock_api.get(REPO, status=404, json={"message": "Not Found"})
    with pytest.raises(ProviderNotFound):
        gh.get_repo("octocat/Hello-World")


def test_get_repo_connection_error_and_502(mock_api, gh):
    mock_api.get(REPO, body=requests.ConnectionError("refused"))
    with pytest.raises(ProviderUnavailable):
        gh.get_repo("octocat/Hello-World")
    mock_api.replace("GET", REPO, status=502)
    with pytest.raises(ProviderUnavailable) as info:
        gh.get_repo("octocat/Hello-World")
    assert info.value.transient and info.value.status == 502


# --- git data: reads ------------------------------------------------------------------------------
def test_get_branch_sha(mock_api, gh):
    mock_api.get(f"{REPO}/git/ref/heads/feature/a", json=github_example("git-ref"))
    assert gh.get_branch_sha("octocat/Hello-World", "feature/a") == SHA


@pytest.mark.parametrize(
    ("status", "message"), [(404, "Not Found"), (409, "Git Repository is empty.")]
)
def test_get_branch_sha_missing_or_empty_is_none(mock_api, gh, status, message):
    mock_api.get(f"{REPO}/git/ref/heads/main", status=status, json={"message": message})
    assert gh.get_branch_sha("octocat/Hello-World", "main") is None


def test_get_branch_sha_bad_token_raises(mock_api, gh):
    mock_api.get(f"{REPO}/git/ref/heads/main", status=401, json={"message": "Bad credentials"})
    with pytest.raises(ProviderAuthError):
        gh.get_branch_sha("octocat/Hello-World", "main")


def test_get_commit(mock_api, gh):
    data = github_example("git-commit")
    mock_api.get(f"{REPO}/git/commits/{data['sha']}", json=data)
    commit = gh.get_commit("octocat/Hello-World", data["sha"])
    assert commit == RemoteCommit(
        sha=data["sha"], tree=data["tree"]["sha"], parents=tuple(p["sha"] for p in data["parents"])
    )


def test_get_tree_recursive(mock_api, gh):
    data = github_example("git-tree-response-recursively-retrieving-a-tree")
    mock_api.get(
        f"{REPO}/git/trees/{data['sha']}",
        json=data,
        match=[matchers.query_param_matcher({"recursive": "1"})],
    )
    tree = gh.get_tree("octocat/Hello-World", data["sha"], recursive=True)
    assert tree.sha == data["sha"] and tree.truncated is False
    assert tree.entries == [
        RemoteTreeEntry(
            "subdir/file.txt", "100644", "blob", "7c258a9869f33c1e1e1f74fbb32f07c86cb5a75b"
        )
    ]


def test_get_tree_truncated_and_not_recursive(mock_api, gh):
    data = github_example("git-tree")
    mock_api.get(
        f"{REPO}/git/trees/{data['sha']}", json=data, match=[matchers.query_param_matcher({})]
    )
    assert gh.get_tree("octocat/Hello-World", data["sha"]).truncated is True


def test_get_tree_of_empty_repository(mock_api, gh):
    mock_api.get(f"{REPO}/git/trees/main", status=409, json={"message": "Git Repository is empty."})
    with pytest.raises(ProviderRejected) as info:
        gh.get_tree("octocat/Hello-World", "main", recursive=True)
    assert info.value.status == 409 and "Git Repository is empty." in str(info.value)


# --- failures common to every endpoint ------------------------------------------------------------
def test_rate_limited_with_reset(mock_api, gh):
    mock_api.get(
        f"{REPO}/git/ref/heads/main",
        status=403,
        json={"message": "API rate limit exceeded"},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 300)},
    )
    with pytest.raises(ProviderRateLimited) as info:
        gh.get_branch_sha("octocat/Hello-World", "main")
    assert info.value.retry_after == 300 and info.value.transient


def test_429_with_retry_after(mock_api, gh):
    mock_api.post(f"{REPO}/git/commits", status=429, headers={"Retry-After": "12"})
    with pytest.raises(ProviderRateLimited) as info:
        gh.create_commit("octocat/Hello-World", message="m", tree=SHA, parents=[])
    assert info.value.retry_after == 12


CALLS = [
    ("GET", f"{API}/user", lambda c: c.get_user()),
    ("GET", REPO, lambda c: c.get_repo("octocat/Hello-World")),
    ("GET", f"{REPO}/git/commits/{SHA}", lambda c: c.get_commit("octocat/Hello-World", SHA)),
    ("POST", f"{REPO}/git/blobs", lambda c: c.create_blob("octocat/Hello-World", b"x")),
    (
        "PATCH",
        f"{REPO}/git/refs/heads/main",
        lambda c: c.update_ref("octocat/Hello-World", "main", SHA),
    ),
    (
        "POST",
        f"{REPO}/hooks",
        lambda c: c.create_hook(
            "octocat/Hello-World", url="https://e/h", secret="s", branch="main"
        ),
    ),
]


@pytest.mark.parametrize(("method", "url", "call"), CALLS)
@pytest.mark.parametrize("status", [401, 403, 404, 422, 429, 502])
def test_token_never_in_errors(mock_api, gh, method, url, call, status):
    mock_api.add(method, url, status=status, json={"message": "nope"})
    with pytest.raises(ProviderError) as info:
        call(gh)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
