"""GitLabClient against stubbed endpoints (paths and hook bodies checked against GitLab's file)."""

import base64
import json

import pytest
import requests
from responses import matchers

from connections.providers.base import GitAccess, Hook, RemoteCommit, RemoteTreeEntry
from connections.providers.gitlab import GitLabClient, gitlab_bases
from core.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from tests.connections.providers.bodies import sent_json
from tests.connections.providers.conftest import NOW, TOKEN, clock

API = "https://gitlab.com/api/v4"
PROJECT = f"{API}/projects/group%2Fsub%2Fproject"
REMOTE = "group/sub/project"
SHA = "ed899a2f4b50b4370feeea94676502b42383c746"

PROJECT_BODY = {
    "id": 3,
    "path_with_namespace": REMOTE,
    "default_branch": "main",
    "empty_repo": False,
    "http_url_to_repo": "https://gitlab.com/group/sub/project.git",
}
COMMIT_BODY = {
    "id": SHA,
    "short_id": SHA[:8],
    "title": "sync",
    "message": "sync",
    "parent_ids": ["6104942438c14ec7bd21c6cd5bd995272b3faff6"],
    "author_name": "Coregit",
    "created_at": "2026-04-05T12:00:00.000Z",
}


@pytest.fixture
def gl():
    return GitLabClient(lambda: TOKEN, clock=clock)


def test_bases_for_cloud_and_self_managed():
    assert gitlab_bases(None) == (API, "https://gitlab.com")
    assert gitlab_bases("https://gitlab.example.com/") == (
        "https://gitlab.example.com/api/v4",
        "https://gitlab.example.com",
    )


def test_get_user(mock_api, gl):
    mock_api.get(f"{API}/user", json={"id": 1, "username": "john_smith", "name": "John Smith"})
    assert gl.get_user().username == "john_smith"
    headers = mock_api.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["User-Agent"] == "coregit-sync/1.0"


def test_get_user_bad_token_message_not_doubled(mock_api, gl):
    mock_api.get(f"{API}/user", status=401, json={"message": "401 Unauthorized"})
    with pytest.raises(ProviderAuthError) as info:
        gl.get_user()
    assert str(info.value) == "GitLab token validation failed: 401 Unauthorized"


def test_get_user_expired_oauth_token(mock_api, gl):
    mock_api.get(
        f"{API}/user",
        status=401,
        json={
            "error": "invalid_token",
            "error_description": "Token is expired. You can either do re-authorization "
            "or token refresh.",
        },
    )
    with pytest.raises(ProviderAuthError, match="401 Token is expired"):
        gl.get_user()


def test_self_managed_host(mock_api):
    client = GitLabClient(lambda: TOKEN, host="https://gitlab.example.com")
    mock_api.get("https://gitlab.example.com/api/v4/user", json={"username": "root"})
    assert client.get_user().username == "root"
    assert client.git_access(REMOTE).url == "https://gitlab.example.com/group/sub/project.git"


def test_get_repo_by_encoded_path(mock_api, gl):
    mock_api.get(PROJECT, json=PROJECT_BODY)
    repo = gl.get_repo(REMOTE)
    assert (repo.full_name, repo.default_branch, repo.empty, repo.project_id) == (
        REMOTE,
        "main",
        False,
        3,
    )
    assert "/projects/group%2Fsub%2Fproject" in mock_api.calls[0].request.url


def test_get_repo_empty(mock_api, gl):
    mock_api.get(PROJECT, json={**PROJECT_BODY, "empty_repo": True, "default_branch": None})
    repo = gl.get_repo(REMOTE)
    assert repo.empty is True and repo.default_branch is None


def test_git_access(gl):
    assert gl.git_access(REMOTE) == GitAccess(
        "https://gitlab.com/group/sub/project.git", "oauth2", TOKEN
    )


def test_get_branch_sha_encodes_branch(mock_api, gl):
    mock_api.get(
        f"{PROJECT}/repository/branches/feature%2Fa",
        json={"name": "feature/a", "commit": {"id": SHA}, "protected": False},
    )
    assert gl.get_branch_sha(REMOTE, "feature/a") == SHA


def test_get_branch_sha_missing(mock_api, gl):
    mock_api.get(
        f"{PROJECT}/repository/branches/main", status=404, json={"message": "404 Branch Not Found"}
    )
    assert gl.get_branch_sha(REMOTE, "main") is None


def test_get_tree_keyset_three_pages(mock_api, gl):
    url = f"{PROJECT}/repository/tree"
    first = {"ref": "main", "recursive": "true", "per_page": "100", "pagination": "keyset"}
    pages = [
        (
            first,
            [{"id": "a1", "name": "src", "type": "tree", "path": "src", "mode": "040000"}],
            "src",
        ),
        (
            {**first, "page_token": "src"},
            [
                {
                    "id": "b2",
                    "name": "run.sh",
                    "type": "blob",
                    "path": "src/run.sh",
                    "mode": "100755",
                }
            ],
            "src/run.sh",
        ),
        (
            {**first, "page_token": "src/run.sh"},
            [{"id": "c3", "name": "lib", "type": "commit", "path": "lib", "mode": "160000"}],
            None,
        ),
    ]
    for query, items, token in pages:
        headers = {}
        if token:
            nxt = f"{url}?ref=main&recursive=true&per_page=100&pagination=keyset&page_token={token}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        mock_api.get(url, json=items, headers=headers, match=[matchers.query_param_matcher(query)])
    assert gl.get_tree(REMOTE, "main") == [
        RemoteTreeEntry("src", "040000", "tree", "a1"),
        RemoteTreeEntry("src/run.sh", "100755", "blob", "b2"),
        RemoteTreeEntry("lib", "160000", "commit", "c3"),
    ]


def test_create_commit(mock_api, gl):
    mock_api.post(f"{PROJECT}/repository/commits", status=201, json=COMMIT_BODY)
    actions = [{"action": "create", "file_path": "a.txt", "content": "aGk=", "encoding": "base64"}]
    commit = gl.create_commit(
        REMOTE,
        branch="main",
        message="sync",
        actions=actions,
        start_sha="6104942438c14ec7bd21c6cd5bd995272b3faff6",
        force=True,
    )
    assert commit == RemoteCommit(
        sha=SHA, tree="", parents=("6104942438c14ec7bd21c6cd5bd995272b3faff6",)
    )
    assert sent_json(mock_api.calls[0].request) == {
        "branch": "main",
        "commit_message": "sync",
        "actions": actions,
        "start_sha": "6104942438c14ec7bd21c6cd5bd995272b3faff6",
        "force": True,
    }


def test_create_commit_minimal_body(mock_api, gl):
    mock_api.post(f"{PROJECT}/repository/commits", status=201, json=COMMIT_BODY)
    gl.create_commit(REMOTE, branch="main", message="m", actions=[])
    assert sent_json(mock_api.calls[0].request) == {
        "branch": "main",
        "commit_message": "m",
        "actions": [],
    }


def test_create_commit_rejected(mock_api, gl):
    mock_api.post(
        f"{PROJECT}/repository/commits",
        status=400,
        json={"message": "A file with this name already exists"},
    )
    with pytest.raises(ProviderRejected) as info:
        gl.create_commit(REMOTE, branch="main", message="m", actions=[])
    assert info.value.status == 400 and "A file with this name already exists" in str(info.value)


def test_create_hook(mock_api, gl):
    mock_api.post(
        f"{PROJECT}/hooks",
        status=201,
        json={
            "id": 1,
            "url": "https://coregit.example/v1/sync-webhooks/gitlab/sync_1",
            "project_id": 3,
            "push_events": True,
            "push_events_branch_filter": "main",
            "enable_ssl_verification": True,
        },
    )
    hook = gl.create_hook(
        REMOTE,
        url="https://coregit.example/v1/sync-webhooks/gitlab/sync_1",
        secret="s3cr3t",
        branch="main",
    )
    assert hook == Hook(id=1, url="https://coregit.example/v1/sync-webhooks/gitlab/sync_1")
    assert json.loads(mock_api.calls[0].request.body) == {
        "url": "https://coregit.example/v1/sync-webhooks/gitlab/sync_1",
        "token": "s3cr3t",
        "push_events": True,
        "push_events_branch_filter": "main",
        "enable_ssl_verification": True,
    }


def test_create_hook_url_blocked(mock_api, gl):
    mock_api.post(
        f"{PROJECT}/hooks",
        status=422,
        json={"message": {"url": ["is blocked: Requests to localhost are not allowed"]}},
    )
    with pytest.raises(ProviderRejected, match="url is blocked"):
        gl.create_hook(REMOTE, url="https://e/h", secret="s", branch="main")


def test_delete_hook_and_already_gone(mock_api, gl):
    mock_api.delete(f"{PROJECT}/hooks/7", status=204)
    gl.delete_hook(REMOTE, 7)
    mock_api.replace("DELETE", f"{PROJECT}/hooks/7", status=404, json={"message": "404 Not found"})
    gl.delete_hook(REMOTE, 7)


def test_forbidden_is_auth_error(mock_api, gl):
    mock_api.post(f"{PROJECT}/hooks", status=403, json={"message": "403 Forbidden"})
    with pytest.raises(ProviderAuthError, match="403 Forbidden"):
        gl.create_hook(REMOTE, url="https://e/h", secret="s", branch="main")


def test_429_retry_after_and_ratelimit_reset(mock_api, gl):
    url = f"{PROJECT}/repository/branches/main"
    mock_api.get(
        url, status=429, headers={"Retry-After": "30", "RateLimit-Reset": str(int(NOW) + 99)}
    )
    with pytest.raises(ProviderRateLimited) as info:
        gl.get_branch_sha(REMOTE, "main")
    assert info.value.retry_after == 30
    mock_api.replace("GET", url, status=429, headers={"RateLimit-Reset": str(int(NOW) + 99)})
    with pytest.raises(ProviderRateLimited) as info:
        gl.get_branch_sha(REMOTE, "main")
    assert info.value.retry_after == 99


def test_502_and_connection_error(mock_api, gl):
    url = f"{PROJECT}/repository/commits"
    mock_api.post(url, status=502)
    with pytest.raises(ProviderUnavailable):
        gl.create_commit(REMOTE, branch="main", message="m", actions=[])
    mock_api.replace("POST", url, body=requests.ConnectionError("reset"))
    with pytest.raises(ProviderUnavailable):
        gl.create_commit(REMOTE, branch="main", message="m", actions=[])


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500])
def test_token_never_in_errors(mock_api, gl, status):
    mock_api.post(f"{PROJECT}/hooks", status=status, json={"message": f"{status} bad {TOKEN}"})
    with pytest.raises(ProviderError) as info:
        gl.create_hook(REMOTE, url="https://e/h", secret="s", branch="main")
    assert TOKEN not in str(info.value)


def test_create_commit_streams_lazy_content_read_only_while_sending(mock_api, gl):
    """Content given as a LazyBlob is read only when the body is written (chunked), one file
    after the other: `responses` never writes it, so nothing is read until the test does.
    Text goes as text, binary as base64."""
    from connections.providers.base import LazyBlob

    reads: list[str] = []

    def lazy(name: str, data: bytes) -> LazyBlob:
        return LazyBlob(len(data), lambda: reads.append(name) or data)

    binary = bytes(range(256)) * 5000
    actions = [{"action": "create", "file_path": "a.txt", "content": lazy("a", "héllo\n".encode())},
               {"action": "update", "file_path": "b.bin", "content": lazy("b", binary)},
               {"action": "delete", "file_path": "gone.txt"}]
    mock_api.post(f"{API}/projects/group%2Fproj/repository/commits", status=201,
                  json={"id": "c" * 40, "parent_ids": ["p" * 40], "message": "sync"})
    gl.create_commit("group/proj", branch="main", message="sync", actions=actions)

    request = mock_api.calls[0].request
    assert request.headers.get("Transfer-Encoding") == "chunked"
    assert reads == []
    sent = sent_json(request)["actions"]
    assert reads == ["a", "b"]
    assert sent[0] == {"action": "create", "file_path": "a.txt", "content": "héllo\n",
                       "encoding": "text"}
    assert sent[1]["encoding"] == "base64" and base64.b64decode(sent[1]["content"]) == binary
    assert sent[2] == {"action": "delete", "file_path": "gone.txt"}
