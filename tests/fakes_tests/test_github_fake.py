import base64

import pytest
import requests
from dulwich.errors import GitProtocolError
from dulwich.repo import Repo

from tests.fakes.github import FakeGitHub
from tests.fakes.requests_git_client import RequestsHttpGitClient
from tests.fakes_tests.conftest import fetch

H = {"Authorization": "token ghp_good", "Accept": "application/vnd.github+json"}


def call(fake, method, path, **kw):
    return requests.request(method, fake.api + path, headers=kw.pop("headers", H), **kw)


def test_auth_user_and_rate_limit_endpoint(gh):
    assert call(gh, "GET", "/user").json()["login"] == "octocat"
    bad = call(gh, "GET", "/user", headers={"Authorization": "token nope"})
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
    assert call(gh, "GET", "/user", headers={}).status_code == 401
    body = call(gh, "GET", "/rate_limit?x=1").json()
    assert body["resources"]["core"]["limit"] == 5000
    assert gh.calls_by_endpoint["GET /user"] == 3


def test_empty_repo_refusals_and_initial_commit_via_contents(gh):
    gh.create_repo("o/r")
    assert call(gh, "GET", "/repos/o/r").json()["default_branch"] == "main"
    r = call(gh, "GET", "/repos/o/r/git/ref/heads/main")
    assert r.status_code == 409 and r.json()["message"] == "Git Repository is empty."
    for path, body in (("blobs", {"content": "x"}), ("trees", {"tree": []}),
                       ("commits", {"message": "m", "tree": "a" * 40}),
                       ("refs", {"ref": "refs/heads/x", "sha": "a" * 40})):
        assert call(gh, "POST", f"/repos/o/r/git/{path}", json=body).status_code == 409
    assert call(gh, "GET", "/repos/o/r/branches/main").status_code == 404
    put = call(gh, "PUT", "/repos/o/r/contents/.coregit", json={
        "message": "init", "content": base64.b64encode(b"hi").decode()})
    assert put.status_code == 201
    sha = put.json()["commit"]["sha"]
    assert gh.branch_sha("o/r") == sha
    assert gh.read_tree("o/r") == {".coregit": (0o100644, b"hi")}
    again = call(gh, "PUT", "/repos/o/r/contents/.coregit", json={
        "message": "m", "content": base64.b64encode(b"x").decode()})
    assert again.status_code == 422  # "sha" wasn't supplied
    ref = call(gh, "GET", "/repos/o/r/git/ref/heads/main").json()
    assert ref["object"]["sha"] == sha
    assert call(gh, "GET", "/repos/o/r/git/ref/heads/nope").status_code == 404
    branch = call(gh, "GET", "/repos/o/r/branches/main").json()
    assert branch["commit"]["sha"] == sha


def test_tree_chain_commit_and_ref_updates(gh):
    gh.create_repo("o/r", empty=False)
    base_commit = gh.branch_sha("o/r")
    base_tree = gh.tree_sha("o/r")
    blob = call(gh, "POST", "/repos/o/r/git/blobs",
                json={"content": base64.b64encode(b"\x00\x01").decode(), "encoding": "base64"})
    assert blob.status_code == 201
    t1 = call(gh, "POST", "/repos/o/r/git/trees", json={"base_tree": base_tree, "tree": [
        {"path": "a/b/c.txt", "mode": "100644", "type": "blob", "content": "c"},
        {"path": "bin/run", "mode": "100755", "type": "blob", "content": "#!/bin/sh\n"},
        {"path": "img.bin", "mode": "100644", "type": "blob", "sha": blob.json()["sha"]}]})
    assert t1.status_code == 201
    t2 = call(gh, "POST", "/repos/o/r/git/trees", json={"base_tree": t1.json()["sha"], "tree": [
        {"path": "a/b/d.txt", "mode": "100644", "type": "blob", "content": "d"},
        {"path": "link", "mode": "120000", "type": "blob", "content": "a/b/c.txt"},
        {"path": "README.md", "mode": "100644", "type": "blob", "sha": None}]}).json()
    listing = call(gh, "GET", f"/repos/o/r/git/trees/{t2['sha']}?recursive=1").json()
    assert not listing["truncated"]
    assert [(e["path"], e["mode"], e["type"]) for e in listing["tree"]] == [
        ("a", "040000", "tree"), ("a/b", "040000", "tree"), ("a/b/c.txt", "100644", "blob"),
        ("a/b/d.txt", "100644", "blob"), ("bin", "040000", "tree"),
        ("bin/run", "100755", "blob"), ("img.bin", "100644", "blob"),
        ("link", "120000", "blob")]
    commit = call(gh, "POST", "/repos/o/r/git/commits", json={
        "message": "export", "tree": t2["sha"], "parents": [base_commit]})
    assert commit.status_code == 201
    new = commit.json()["sha"]
    ff = call(gh, "PATCH", "/repos/o/r/git/refs/heads/main", json={"sha": new, "force": False})
    assert ff.status_code == 200 and gh.branch_sha("o/r") == new
    assert gh.read_tree("o/r")["link"] == (0o120000, b"a/b/c.txt")
    nff = call(gh, "PATCH", "/repos/o/r/git/refs/heads/main", json={"sha": base_commit})
    assert nff.status_code == 422 and nff.json()["message"] == "Update is not a fast forward"
    assert call(gh, "PATCH", "/repos/o/r/git/refs/heads/main",
                json={"sha": base_commit, "force": True}).status_code == 200
    created = call(gh, "POST", "/repos/o/r/git/refs", json={"ref": "refs/heads/x", "sha": new})
    assert created.status_code == 201
    dup = call(gh, "POST", "/repos/o/r/git/refs", json={"ref": "refs/heads/x", "sha": new})
    assert dup.json()["message"] == "Reference already exists"
    matching = call(gh, "GET", "/repos/o/r/git/matching-refs/heads/").json()
    assert [m["ref"] for m in matching] == ["refs/heads/main", "refs/heads/x"]
    assert call(gh, "GET", f"/repos/o/r/git/commits/{new}").json()["tree"]["sha"] == t2["sha"]


@pytest.mark.parametrize("body", [
    {"message": "m", "tree": "f" * 40, "parents": []},
    {"message": "m", "tree": "TREE", "parents": ["e" * 40]},
])
def test_create_commit_validates_tree_and_parents(gh, body):
    gh.create_repo("o/r", empty=False)
    body = dict(body, tree=gh.tree_sha("o/r") if body["tree"] == "TREE" else body["tree"])
    assert call(gh, "POST", "/repos/o/r/git/commits", json=body).status_code == 422


@pytest.mark.parametrize("entry", [
    {"path": "gone.txt", "mode": "100644", "type": "blob", "sha": None},
    {"path": "/abs", "mode": "100644", "type": "blob", "content": "x"},
    {"path": "x", "mode": "100644", "type": "blob", "content": "x", "sha": "a" * 40},
    {"path": "x", "mode": "100644", "type": "blob"},
    {"path": "x", "mode": "100644", "type": "blob", "sha": "a" * 40},
    {"path": "x", "mode": "100600", "type": "blob", "content": "x"},
])
def test_create_tree_refusals(gh, entry):
    gh.create_repo("o/r", empty=False)
    r = call(gh, "POST", "/repos/o/r/git/trees",
             json={"base_tree": gh.tree_sha("o/r"), "tree": [entry]})
    assert r.status_code == 422


def test_gitlink_and_tree_sha_equal_local_tree(gh, tmp_path):
    gh.create_repo("o/r", empty=False)
    files = {"s": (160000, "1" * 40), "x.sh": (100755, b"x"), "e": b"", "ü.txt": b"u"}
    gh.commit("o/r", files)
    assert gh.read_tree("o/r")["s"] == (0o160000, "1" * 40)
    local, _ = fetch(gh.git_url("o/r"), tmp_path / "l.git", username="x-access-token",
                     password="ghp_good")
    assert gh.tree_equals("o/r", "main", tmp_path / "l.git", "main")
    local.close()


def test_smart_http_full_and_shallow_fetch_and_push(gh, tmp_path):
    gh.create_repo("o/r", empty=False)
    first = gh.branch_sha("o/r")
    gh.commit("o/r", {"a.txt": b"a", "d/b.txt": b"b"}, "second")
    local, result = fetch(gh.git_url("o/r"), tmp_path / "full.git", username="x-access-token",
                          password="ghp_good")
    head = result.refs[b"refs/heads/main"]
    assert local[head].tree.decode() == gh.tree_sha("o/r")
    assert first.encode() in local.object_store
    local.close()
    shallow, result = fetch(gh.git_url("o/r"), tmp_path / "shallow.git",
                            username="x-access-token", password="ghp_good", depth=1)
    assert shallow[result.refs[b"refs/heads/main"]].tree.decode() == gh.tree_sha("o/r")
    assert first.encode() not in shallow.object_store
    shallow.close()
    assert gh.calls_by_endpoint["POST /{owner}/{repo}.git/git-upload-pack"] == 2
    # a generic push through receive-pack
    src = Repo(str(tmp_path / "full.git"))
    tree = src[src.refs[b"refs/heads/main"]].tree
    from tests.fakes import gitrepo
    new = gitrepo.make_commit(src, tree.decode(), [head.decode()], "pushed")
    client = RequestsHttpGitClient(gh.git_url("o/r"), username="x", password="ghp_good")
    client.send_pack("", lambda refs: {b"refs/heads/main": new.encode()},
                     src.generate_pack_data)
    assert gh.branch_sha("o/r") == new
    src.close()


def test_smart_http_requires_token(gh, tmp_path):
    gh.create_repo("o/r", empty=False)
    r = requests.get(gh.git_url("o/r") + "/info/refs?service=git-upload-pack")
    assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"]
    with pytest.raises(Exception):  # HTTPUnauthorized
        fetch(gh.git_url("o/r"), tmp_path / "x.git", username="x", password="bad")
    with pytest.raises((GitProtocolError, Exception)):
        fetch(gh.web + "/o/missing.git", tmp_path / "y.git", username="x", password="ghp_good")


def test_rate_limits_and_injected_failures(gh):
    gh.rate_limit(remaining=0, reset=1700000000, times=1)
    r = call(gh, "GET", "/user")
    assert r.status_code == 403 and r.headers["x-ratelimit-remaining"] == "0"
    assert r.headers["x-ratelimit-reset"] == "1700000000"
    assert call(gh, "GET", "/user").status_code == 200
    gh.secondary_limit(retry_after=60, times=1)
    r = call(gh, "GET", "/user")
    assert r.status_code == 403 and r.headers["retry-after"] == "60"
    assert "secondary rate limit" in r.json()["message"]
    gh.fail_next(status=502, times=2)
    assert [call(gh, "GET", "/user").status_code for _ in range(3)] == [502, 502, 200]


def test_content_creation_pacing(tmp_path):
    now = [0.0]
    fake = FakeGitHub(tmp_path, clock=lambda: now[0], host="https://ghe.example.com")
    fake.add_token("t")
    fake.create_repo("o/r", empty=False)
    assert fake.api == "https://ghe.example.com/api/v3"
    h = {"Authorization": "Bearer t"}
    with fake.mock():
        statuses = [requests.post(fake.api + "/repos/o/r/git/blobs", headers=h,
                                  json={"content": str(i)}).status_code for i in range(81)]
        assert statuses[:80] == [201] * 80 and statuses[80] == 403
        assert fake.secondary_limit_hits == 1
        now[0] = 61.0
        assert requests.post(fake.api + "/repos/o/r/git/blobs", headers=h,
                             json={"content": "late"}).status_code == 201
    fake.close()


def test_hooks_crud(gh):
    gh.create_repo("o/r", empty=False)
    body = {"name": "web", "events": ["push"], "active": True,
            "config": {"url": "https://ex.com/h", "content_type": "json", "secret": "s3"}}
    created = call(gh, "POST", "/repos/o/r/hooks", json=body)
    assert created.status_code == 201 and created.json()["config"]["secret"] == "********"
    hook_id = created.json()["id"]
    assert gh.hooks("o/r")[0]["config"]["secret"] == "s3"
    assert call(gh, "POST", "/repos/o/r/hooks", json=body).status_code == 422
    assert call(gh, "POST", "/repos/o/r/hooks", json={"config": {}}).status_code == 422
    assert len(call(gh, "GET", "/repos/o/r/hooks").json()) == 1
    patched = call(gh, "PATCH", f"/repos/o/r/hooks/{hook_id}", json={"active": False})
    assert patched.json()["active"] is False
    assert call(gh, "GET", f"/repos/o/r/hooks/{hook_id}").json()["active"] is False
    assert call(gh, "DELETE", f"/repos/o/r/hooks/{hook_id}").status_code == 204
    assert call(gh, "GET", f"/repos/o/r/hooks/{hook_id}").status_code == 404
    assert call(gh, "GET", "/repos/o/nope").status_code == 404
