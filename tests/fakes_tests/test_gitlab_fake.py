import base64

import pytest
import requests

from tests.fakes.gitlab import encoded
from tests.fakes_tests.conftest import fetch

H = {"PRIVATE-TOKEN": "glpat-good"}
PID = encoded("group/sub/proj")


def call(fake, method, path, **kw):
    return requests.request(method, fake.api + path, headers=kw.pop("headers", H), **kw)


def commit(fake, actions, branch="main", **extra):
    return call(fake, "POST", f"/projects/{PID}/repository/commits",
                json={"branch": branch, "commit_message": "m", "actions": actions, **extra})


def test_auth_user_project_and_branch(gl):
    p = gl.create_project("group/sub/proj")
    assert call(gl, "GET", "/user").json()["username"] == "root"
    assert call(gl, "GET", "/user", headers={"Authorization": "Bearer glpat-good"}).ok
    bad = call(gl, "GET", "/user", headers={"PRIVATE-TOKEN": "nope"})
    assert bad.status_code == 401 and bad.json() == {"message": "401 Unauthorized"}
    body = call(gl, "GET", f"/projects/{PID}").json()
    assert body["empty_repo"] is True and body["default_branch"] is None
    assert call(gl, "GET", f"/projects/{p.id}").json()["path_with_namespace"] == "group/sub/proj"
    missing = call(gl, "GET", f"/projects/{PID}/repository/branches/main")
    assert missing.status_code == 404 and missing.json()["message"] == "404 Branch Not Found"
    assert call(gl, "GET", "/projects/999").status_code == 404


def test_commit_actions_on_empty_project_and_after(gl):
    gl.create_project("group/sub/proj")
    first = commit(gl, [
        {"action": "create", "file_path": "a.txt", "content": "a"},
        {"action": "create", "file_path": "bin/run.sh", "content": "#!/bin/sh\n",
         "execute_filemode": True},
        {"action": "create", "file_path": "img.bin", "encoding": "base64",
         "content": base64.b64encode(b"\x00\xff").decode()}])
    assert first.status_code == 201 and first.json()["parent_ids"] == []
    assert gl.read_tree("group/sub/proj") == {
        "a.txt": (0o100644, b"a"), "bin/run.sh": (0o100755, b"#!/bin/sh\n"),
        "img.bin": (0o100644, b"\x00\xff")}
    branch = call(gl, "GET", f"/projects/{PID}/repository/branches/main").json()
    assert branch["commit"]["id"] == first.json()["id"]
    second = commit(gl, [
        {"action": "chmod", "file_path": "bin/run.sh", "execute_filemode": False},
        {"action": "chmod", "file_path": "a.txt", "execute_filemode": True},
        {"action": "update", "file_path": "img.bin", "content": "text now"},
        {"action": "move", "previous_path": "a.txt", "file_path": "docs/a.txt"},
        {"action": "delete", "file_path": "bin/run.sh"}])
    assert second.status_code == 201
    assert second.json()["parent_ids"] == [first.json()["id"]]
    assert gl.read_tree("group/sub/proj") == {
        "docs/a.txt": (0o100755, b"a"), "img.bin": (0o100644, b"text now")}
    assert call(gl, "GET", f"/projects/{PID}").json()["default_branch"] == "main"


@pytest.mark.parametrize("action,message", [
    ({"action": "create", "file_path": "README.md", "content": "x"},
     "A file with this name already exists"),
    ({"action": "update", "file_path": "nope.txt", "content": "x"},
     "A file with this name doesn't exist"),
    ({"action": "delete", "file_path": "nope.txt"}, "A file with this name doesn't exist"),
    ({"action": "chmod", "file_path": "nope", "execute_filemode": True},
     "A file with this name doesn't exist"),
    ({"action": "move", "previous_path": "nope", "file_path": "x"},
     "A file with this name doesn't exist"),
])
def test_commit_action_refusals(gl, action, message):
    gl.create_project("group/sub/proj", empty=False)
    before = gl.branch_sha("group/sub/proj")
    r = commit(gl, [action])
    assert r.status_code == 400 and r.json()["message"] == message
    assert gl.branch_sha("group/sub/proj") == before


def test_commit_validation_and_start_branch(gl):
    gl.create_project("group/sub/proj", empty=False)
    assert commit(gl, []).status_code == 400
    assert commit(gl, [{"action": "explode", "file_path": "x"}]).status_code == 400
    assert commit(gl, [{"action": "create", "file_path": "x"}], branch="new").status_code == 400
    made = commit(gl, [{"action": "create", "file_path": "x"}], branch="new", start_branch="main")
    assert made.status_code == 201 and gl.read_tree("group/sub/proj", "new")["x"][1] == b""
    again = commit(gl, [{"action": "create", "file_path": "y"}], branch="new", start_branch="main")
    assert again.status_code == 400
    gl.max_actions = 1
    two = [{"action": "create", "file_path": "p"}, {"action": "create", "file_path": "q"}]
    assert commit(gl, two).status_code == 400


def test_tree_keyset_and_offset_pagination(gl):
    gl.create_project("group/sub/proj")
    files = {f"dir/f{i:03}.txt": str(i).encode() for i in range(150)}
    files["top.sh"] = (100755, b"x")
    gl.commit("group/sub/proj", files)
    url = f"{gl.api}/projects/{PID}/repository/tree?recursive=true&ref=main&per_page=100" \
          "&pagination=keyset"
    rows, pages = [], 0
    while url:
        r = requests.get(url, headers=H)
        assert r.status_code == 200
        rows += r.json()
        pages += 1
        url = r.links.get("next", {}).get("url")
    assert pages == 2 and len(rows) == 152
    assert {"id", "name", "type", "path", "mode"} <= set(rows[0])
    assert rows[0] == {**rows[0], "path": "dir", "type": "tree", "mode": "040000"}
    assert [r for r in rows if r["path"] == "top.sh"][0]["mode"] == "100755"
    assert len({r["path"] for r in rows}) == 152
    offset = call(gl, "GET", f"/projects/{PID}/repository/tree?path=dir&per_page=100&page=2")
    assert len(offset.json()) == 50 and offset.headers["X-Total"] == "150"
    assert call(gl, "GET", f"/projects/{PID}/repository/tree?ref=nope").status_code == 404


def test_hooks_and_rate_limit(gl):
    p = gl.create_project("group/sub/proj", empty=False)
    r = call(gl, "POST", f"/projects/{p.id}/hooks", json={
        "url": "https://ex.com/h", "token": "tok", "push_events": True,
        "push_events_branch_filter": "main"})
    assert r.status_code == 201 and "token" not in r.json()
    assert gl.hooks("group/sub/proj")[0]["token"] == "tok"
    assert call(gl, "POST", f"/projects/{p.id}/hooks", json={}).status_code == 400
    assert call(gl, "DELETE", f"/projects/{p.id}/hooks/{r.json()['id']}").status_code == 204
    assert call(gl, "DELETE", f"/projects/{p.id}/hooks/{r.json()['id']}").status_code == 404
    gl.rate_limit(retry_after=30, times=1, reset=1700000000)
    limited = call(gl, "GET", "/user")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert limited.headers["RateLimit-Reset"] == "1700000000"
    assert call(gl, "GET", "/user").status_code == 200


def test_smart_http_fetch(gl, tmp_path):
    gl.create_project("group/sub/proj", empty=False)
    gl.commit("group/sub/proj", {"a": b"1", "l": (120000, b"a")})
    local, result = fetch(gl.git_url("group/sub/proj"), tmp_path / "l.git", username="oauth2",
                          password="glpat-good", depth=1)
    assert local[result.refs[b"refs/heads/main"]].tree.decode() == gl.tree_sha("group/sub/proj")
    assert gl.tree_equals("group/sub/proj", "main", tmp_path / "l.git", "main")
    local.close()
    r = requests.get(gl.git_url("group/sub/proj") + "/info/refs?service=git-upload-pack",
                     auth=("oauth2", "bad"))
    assert r.status_code == 401
