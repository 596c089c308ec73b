"""GitHubClient writes (git data API, contents, webhooks); requests checked against OpenAPI."""

import base64

import pytest
from responses import matchers

from connections.providers.base import Hook
from connections.providers.github import GitHubClient
from core.errors import ProviderAuthError, ProviderRateLimited, ProviderRejected
from tests.connections.providers.bodies import sent_json
from tests.connections.providers.conftest import TOKEN, clock
from tests.support.openapi import github_example

API = "https://api.github.com"
REPO = f"{API}/repos/octocat/Hello-World"
SHA = "aa218f56b14c9653891f9e74264a383fa43fefbd"


@pytest.fixture
def gh():
    return GitHubClient(lambda: TOKEN, clock=clock)


def body(call) -> dict:
    return sent_json(call.request)


# --- git data: writes -----------------------------------------------------------------------------
def test_create_blob_sends_base64(mock_api, gh):
    mock_api.post(f"{REPO}/git/blobs", status=201, json=github_example("short-blob"))
    content = b"\x00\xffbinary"
    assert (
        gh.create_blob("octocat/Hello-World", content) == "3a0f86fb8db8eea7ccbb9a95f325ddbedfb25e15"
    )
    sent = body(mock_api.calls[0])
    assert sent["encoding"] == "base64" and base64.b64decode(sent["content"]) == content


def test_create_blob_secondary_rate_limit(mock_api, gh):
    mock_api.post(
        f"{REPO}/git/blobs",
        status=403,
        headers={"retry-after": "60"},
        json={"message": "You have exceeded a secondary rate limit."},
    )
    with pytest.raises(ProviderRateLimited) as info:
        gh.create_blob("octocat/Hello-World", b"x")
    assert info.value.retry_after == 60


def test_create_tree_with_base_tree(mock_api, gh):
    mock_api.post(f"{REPO}/git/trees", status=201, json=github_example("git-tree"))
    entries = [
        {"path": "file.rb", "mode": "100644", "type": "blob", "content": "puts 1\n"},
        {"path": "run.sh", "mode": "100755", "type": "blob", "sha": SHA},
        {"path": "gone.txt", "mode": "100644", "type": "blob", "sha": None},
    ]
    sha = gh.create_tree(
        "octocat/Hello-World", entries, base_tree="9fb037999f264ba9a7fc6274d15fa3ae2ab98312"
    )
    assert sha == "cd8274d15fa3ae2ab983129fb037999f264ba9a7"
    assert body(mock_api.calls[0]) == {
        "tree": entries,
        "base_tree": "9fb037999f264ba9a7fc6274d15fa3ae2ab98312",
    }


def test_create_tree_without_base_tree(mock_api, gh):
    mock_api.post(f"{REPO}/git/trees", status=201, json=github_example("git-tree"))
    gh.create_tree("octocat/Hello-World", [], base_tree=None)
    assert body(mock_api.calls[0]) == {"tree": []}


def test_create_commit(mock_api, gh):
    data = github_example("git-commit")
    mock_api.post(f"{REPO}/git/commits", status=201, json=data)
    commit = gh.create_commit(
        "octocat/Hello-World", message="m", tree=data["tree"]["sha"], parents=[SHA]
    )
    assert commit.sha == data["sha"]
    assert body(mock_api.calls[0]) == {
        "message": "m",
        "tree": data["tree"]["sha"],
        "parents": [SHA],
    }


def test_create_ref(mock_api, gh):
    mock_api.post(f"{REPO}/git/refs", status=201, json=github_example("git-ref"))
    gh.create_ref("octocat/Hello-World", "featureA", SHA)
    assert body(mock_api.calls[0]) == {"ref": "refs/heads/featureA", "sha": SHA}


def test_create_ref_that_exists_is_rejected(mock_api, gh):
    mock_api.post(f"{REPO}/git/refs", status=422, json={"message": "Reference already exists"})
    with pytest.raises(ProviderRejected, match="Reference already exists"):
        gh.create_ref("octocat/Hello-World", "refs/heads/main", SHA)


def test_update_ref(mock_api, gh):
    mock_api.patch(f"{REPO}/git/refs/heads/feature/a", json=github_example("git-ref"))
    gh.update_ref("octocat/Hello-World", "refs/heads/feature/a", SHA)
    assert body(mock_api.calls[0]) == {"sha": SHA, "force": False}


def test_update_ref_non_fast_forward(mock_api, gh):
    mock_api.patch(
        f"{REPO}/git/refs/heads/main", status=422, json={"message": "Update is not a fast forward"}
    )
    with pytest.raises(ProviderRejected) as info:
        gh.update_ref("octocat/Hello-World", "main", SHA)
    assert info.value.status == 422 and not info.value.transient
    assert "422 Update is not a fast forward" in str(info.value)


def test_put_contents_initializes_empty_repository(mock_api, gh):
    data = github_example("file-commit-example-for-creating-a-file")
    mock_api.put(f"{REPO}/contents/notes/hello%20world.txt", status=201, json=data)
    commit = gh.put_contents(
        "octocat/Hello-World", "notes/hello world.txt", content=b"hi", message="init", branch="main"
    )
    assert commit.sha == data["commit"]["sha"] and commit.tree == data["commit"]["tree"]["sha"]
    assert body(mock_api.calls[0]) == {"message": "init", "content": "aGk=", "branch": "main"}


# --- webhooks -------------------------------------------------------------------------------------
def test_create_hook(mock_api, gh):
    mock_api.post(f"{REPO}/hooks", status=201, json=github_example("hook"))
    hook = gh.create_hook(
        "octocat/Hello-World", url="https://example.com/webhook", secret="s3", branch="main"
    )
    assert hook == Hook(id=12345678, url="https://example.com/webhook")
    assert body(mock_api.calls[0]) == {
        "name": "web",
        "active": True,
        "events": ["push"],
        "config": {
            "url": "https://example.com/webhook",
            "content_type": "json",
            "secret": "s3",
            "insecure_ssl": "0",
        },
    }


def test_create_hook_already_exists(mock_api, gh):
    mock_api.post(
        f"{REPO}/hooks",
        status=422,
        json={
            "message": "Validation Failed",
            "errors": [
                {
                    "resource": "Hook",
                    "code": "custom",
                    "message": "Hook already exists on this repository",
                }
            ],
        },
    )
    with pytest.raises(ProviderRejected, match="Hook already exists"):
        gh.create_hook("octocat/Hello-World", url="https://e/x", secret="s", branch="main")


def test_delete_hook_and_already_gone(mock_api, gh):
    mock_api.delete(f"{REPO}/hooks/12345678", status=204)
    gh.delete_hook("octocat/Hello-World", 12345678)
    mock_api.replace("DELETE", f"{REPO}/hooks/12345678", status=404, json={"message": "Not Found"})
    gh.delete_hook("octocat/Hello-World", 12345678)


def test_delete_hook_without_admin_rights(mock_api, gh):
    mock_api.delete(f"{REPO}/hooks/1", status=403, json={"message": "Must have admin rights"})
    with pytest.raises(ProviderAuthError):
        gh.delete_hook("octocat/Hello-World", 1)


def test_list_hooks_three_pages(mock_api, gh):
    hooks = f"{REPO}/hooks"
    for page, nxt in ((None, 2), (2, 3), (3, None)):
        item = {**github_example("hook"), "id": page or 1}
        link = {
            "Link": f'<{hooks}?per_page=100&page={nxt}>; rel="next", '
            f'<{hooks}?per_page=100&page=3>; rel="last"'
        }
        query = {"per_page": "100", **({"page": str(page)} if page else {})}
        mock_api.get(
            hooks,
            json=[item],
            headers=link if nxt else {},
            match=[matchers.query_param_matcher(query)],
        )
    assert [h.id for h in gh.list_hooks("octocat/Hello-World")] == [1, 2, 3]
