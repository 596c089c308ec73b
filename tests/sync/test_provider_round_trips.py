"""GitHub and GitLab through the whole service: API trigger → real worker → engine → fake.

Import runs over git smart HTTP served by the stateful fake; export runs over the provider API.
Both directions end with identical tree ids on the two sides.
"""

import os

import pytest
from dulwich.objects import Tree

from repos import storage
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab

pytestmark = pytest.mark.django_db(transaction=True)
GITLINK = "1234567890abcdef1234567890abcdef12345678"


def rich_files() -> dict:
    deep = "/".join(f"d{i}" for i in range(10)) + "/deep.txt"
    return {
        "bin/run.sh": (0o100755, b"#!/bin/sh\necho hi\n"),
        "README.md": b"# readme\n",
        "link-to-readme": (0o120000, b"README.md"),
        "assets/logo.bin": bytes(range(256)) * 40 + b"\x00\xff",
        "empty.txt": b"",
        "docs/héllo wörld ✓.md": b"unicode path\n",
        deep: b"deep\n",
        "big/large.dat": os.urandom(20 * 1024 * 1024),
        ".github/workflows/ci.yml": b"on: push\njobs: {}\n",
        ".gitignore": b"*.pyc\n",
        ".gitattributes": b"*.bin binary\n",
        "vendor/sub": (0o160000, GITLINK),
    }


def _local_tree(repo) -> str:
    with storage.open_repo(repo.disk_path) as r:
        return storage.commit_tree(r, storage.read_ref(r, b"refs/heads/main")).decode()


def _edit_locally(repo) -> str:
    """A local commit: modify, delete, add and flip the exec bit (what a push would do)."""
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main")
        root = r[storage.commit_tree(r, head)]
        assert isinstance(root, Tree)
        readme = storage.write_blob(r, b"# readme, edited\n")
        new_root = Tree()
        for item in root.iteritems():
            if item.path in (b".gitignore", b"empty.txt"):
                continue  # deleted
            sha = readme if item.path == b"README.md" else item.sha
            new_root.add(item.path, item.mode, sha)
        new_root.add(b"added.txt", 0o100644, storage.write_blob(r, b"new\n"))
        bin_tree = r[root[b"bin"][1]]
        flipped = Tree()
        for item in bin_tree.iteritems():
            flipped.add(item.path, 0o100644, item.sha)  # exec bit removed
        r.object_store.add_object(flipped)
        new_root.add(b"bin", 0o040000, flipped.id)
        r.object_store.add_object(new_root)
        commit = storage.write_commit(r, tree=new_root.id, parents=[head], message="edit\n")
        storage.cas_ref(r, b"refs/heads/main", head, commit)
        return new_root.id.decode()


def gitlab_holding(tmp_path, token: str, remote: str, files: dict, message: str) -> FakeGitLab:
    """A GitLab fake accepting ``token`` whose project ``remote`` holds one commit of ``files``."""
    gl = FakeGitLab(tmp_path / "gl")
    gl.add_token(token, username="tanuki")
    gl.create_project(remote, empty=True)
    gl.commit(remote, files, message)
    return gl


def provider_config(api, provider: str, label: str, token: str, remote: str) -> str:
    """A connection holding ``token`` and a sync config of "app" for ``remote`` through it (import,
    the default direction); the config's id."""
    conn = api.post("/v1/connections", {"provider": provider, "label": label,
                    "access_token": token}, format="json").json()["id"]
    return api.post("/v1/repos/app/sync/config", {"connection_id": conn, "remote": remote},
                    format="json").json()["id"]


def _trigger(api, sync_id):
    resp = api.post("/v1/repos/app/sync", {"sync_id": sync_id}, format="json")
    assert resp.status_code == 200, resp.json()
    return resp.json()


def test_github_round_trip(api, repo, live_worker, tmp_path):
    gh = FakeGitHub(tmp_path / "gh")
    gh.add_token("ghp_rt")
    gh.create_repo("octo/rich", empty=True)
    gh.commit("octo/rich", rich_files(), "rich")
    with gh.mock():
        sync_id = provider_config(api, "github", "GH", "ghp_rt", "octo/rich")
        imported = _trigger(api, sync_id)
        assert imported["files_changed"] == 12 and imported["remote_sha"] == gh.branch_sha(
            "octo/rich")
        assert _local_tree(repo) == gh.tree_sha("octo/rich")

        api.patch("/v1/repos/app/sync/config", {"direction": "export"}, format="json")
        expected = _edit_locally(repo)
        exported = _trigger(api, sync_id)
        assert exported["direction"] == "export" and exported["synced"] is True
        assert gh.tree_sha("octo/rich") == expected == _local_tree(repo)
        assert gh.secondary_limit_hits == 0


def test_gitlab_round_trip(api, repo, live_worker, tmp_path):
    gl = gitlab_holding(tmp_path, "glpat-rt", "grp/sub/rich", rich_files(), "rich")
    with gl.mock():
        sync_id = provider_config(api, "gitlab", "GL", "glpat-rt", "grp/sub/rich")
        imported = _trigger(api, sync_id)
        assert imported["files_changed"] == 12
        assert _local_tree(repo) == gl.tree_sha("grp/sub/rich")

        api.patch("/v1/repos/app/sync/config", {"direction": "export"}, format="json")
        expected = _edit_locally(repo)
        exported = _trigger(api, sync_id)
        assert exported["synced"] is True
        # The symlink and the submodule link were not touched, so the trees are identical.
        assert gl.tree_sha("grp/sub/rich") == expected
