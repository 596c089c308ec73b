"""The request checker itself: it must reject what the official descriptions reject."""

import pytest
import requests

from tests.support.openapi import check_github_request, check_gitlab_request


def prepared(method: str, url: str, body=None) -> requests.PreparedRequest:
    return requests.Request(method, url, json=body).prepare()


def test_github_templates_with_multi_segment_refs():
    req = prepared("GET", "https://api.github.com/repos/o/r/git/ref/heads/feature/a")
    assert check_github_request(req) == "/repos/{owner}/{repo}/git/ref/{ref}"
    req = prepared("POST", "https://api.github.com/repos/o/r/git/refs", {"ref": "refs/heads/x", "sha": "a"})
    assert check_github_request(req) == "/repos/{owner}/{repo}/git/refs"


def test_github_enterprise_prefix_is_stripped():
    req = prepared("GET", "https://ghe.example.com/api/v3/repos/o/r/git/trees/abc?recursive=1")
    assert check_github_request(req) == "/repos/{owner}/{repo}/git/trees/{tree_sha}"


def test_nullable_tree_sha_is_accepted():
    entry = {"path": "a", "mode": "100644", "type": "blob", "sha": None}
    check_github_request(prepared("POST", "https://api.github.com/repos/o/r/git/trees", {"tree": [entry]}))


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (prepared("GET", "https://api.github.com/nope"), "operation not found"),
        (prepared("PUT", "https://api.github.com/user"), "operation not found"),
        (prepared("DELETE", "https://api.github.com/repos/o/r/hooks/abc"), "hook_id"),
        (prepared("GET", "https://api.github.com/repos/o/r/hooks?foo=1"), "unknown query parameter"),
        (prepared("POST", "https://api.github.com/repos/o/r/hooks", {"name": "web", "bogus": 1}), "bogus"),
        (
            prepared("POST", "https://api.github.com/repos/o/r/git/trees", {"tree": [{"mode": "100600"}]}),
            "100600",
        ),
        (prepared("POST", "https://api.github.com/repos/o/r/git/refs", {"sha": "a"}), "'ref' is a required"),
        (prepared("PATCH", "https://api.github.com/repos/o/r/git/refs/heads/main"), "body is required"),
        (prepared("GET", "https://api.github.com/user", {"x": 1}), "takes no request body"),
    ],
)
def test_github_mismatches_raise(req, message):
    with pytest.raises(AssertionError, match=message):
        check_github_request(req)


def test_gitlab_paths_and_hook_body():
    base = "https://gitlab.com/api/v4/projects/g%2Fs%2Fp"
    assert check_gitlab_request(prepared("GET", base)) == "/api/v4/projects/{id}"
    hook = {"url": "https://x", "token": "t", "push_events": True}
    assert check_gitlab_request(prepared("POST", f"{base}/hooks", hook)) == "/api/v4/projects/{id}/hooks"
    with pytest.raises(AssertionError, match="'url' is a required"):
        check_gitlab_request(prepared("POST", f"{base}/hooks", {"token": "t"}))
    with pytest.raises(AssertionError, match="operation not found"):
        check_gitlab_request(prepared("GET", f"{base}/repository/files"))
