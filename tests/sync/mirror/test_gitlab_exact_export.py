"""Snapshot exports to GitLab stay exact: a change with a symlink or a submodule link (which the
commits API cannot write) goes over git smart HTTP, so the remote tree equals the local tree."""

import pytest
from dulwich.objects import Tree

from repos import storage
from tests.sync.test_provider_round_trips import (
    GITLINK,
    gitlab_holding,
    provider_config,
    rich_files,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _imported_then_export(api, token: str, remote: str) -> str:
    """A GitLab config for ``remote``, its first import run, then switched to export; its id."""
    sync_id = provider_config(api, "gitlab", "GL", token, remote)
    assert api.post("/v1/repos/app/sync", {"sync_id": sync_id}, format="json").status_code == 200
    api.patch("/v1/repos/app/sync/config", {"direction": "export"}, format="json")
    return sync_id


def _commit_entries(repo, entries: list[tuple[bytes, int, bytes]]) -> str:
    """A local commit on main setting each (path, mode, content-or-sha) at the root; its tree id."""
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main")
        root = r[storage.commit_tree(r, head)]
        assert isinstance(root, Tree)
        for path, mode, data in entries:
            root.add(path, mode, data if mode == 0o160000 else storage.write_blob(r, data))
        r.object_store.add_object(root)
        commit = storage.write_commit(r, tree=root.id, parents=[head], message="edit\n")
        storage.cas_ref(r, b"refs/heads/main", head, commit)
        return root.id.decode()


def _add_links(repo) -> str:
    """A local commit adding a symlink and a submodule link, and changing a file."""
    return _commit_entries(repo, [(b"README.md", 0o100644, b"# edited\n"),
                                  (b"link-two", 0o120000, b"bin/run.sh"),
                                  (b"vendor-two", 0o160000, GITLINK[::-1].encode())])


def _edit_readme(repo) -> str:
    return _commit_entries(repo, [(b"README.md", 0o100644, b"# edited only\n")])


def test_gitlab_export_of_new_symlink_and_submodule_is_exact(api, repo, live_worker, tmp_path):
    gl = gitlab_holding(tmp_path, "glpat-exact", "grp/exact", rich_files(), "rich")
    with gl.mock():
        sync_id = _imported_then_export(api, "glpat-exact", "grp/exact")
        expected = _add_links(repo)
        tip = gl.repos["grp/exact"].repo.refs[b"refs/heads/main"]
        exported = api.post("/v1/repos/app/sync", {"sync_id": sync_id}, format="json")
        assert exported.status_code == 200, exported.json()
        assert exported.json()["synced"] is True
        head = gl.repos["grp/exact"].repo[gl.repos["grp/exact"].repo.refs[b"refs/heads/main"]]
        assert head.parents == [tip]  # one commit on top of the remote tip
        assert any("git-receive-pack" in e for e in gl.calls_by_endpoint)  # over git, not the API
        assert gl.tree_sha("grp/exact") == expected  # the API alone would have dropped both
        leaves = gl.read_tree("grp/exact")
        assert leaves["link-two"][0] == 0o120000 and leaves["vendor-two"][0] == 0o160000
        again = api.post("/v1/repos/app/sync", {"sync_id": sync_id}, format="json").json()
        assert again["synced"] is False and gl.tree_sha("grp/exact") == expected


def test_a_symlink_only_on_gitlab_is_removed_by_a_push_not_left_with_a_warning(
        api, repo, live_worker, tmp_path):
    """The local change touches no link, yet the remote holds one the local tree lacks: the
    commits API cannot delete it, so the export goes over git and the trees end equal."""
    files = {path: content for path, content in rich_files().items()
             if path not in ("link-to-readme", "vendor/sub", "big/large.dat")}
    gl = gitlab_holding(tmp_path, "glpat-only", "grp/only", files, "plain files")
    with gl.mock():
        sync_id = _imported_then_export(api, "glpat-only", "grp/only")
        gl.commit("grp/only", {**files, "remote-link": (0o120000, b"README.md")}, "a link")
        expected = _edit_readme(repo)  # a plain edit: no link in the local change
        answer = api.post("/v1/repos/app/sync", {"sync_id": sync_id, "force": True},
                          format="json")
        assert answer.status_code == 200, answer.json()
        assert answer.json()["synced"] is True and not answer.json().get("warnings")
        assert gl.tree_sha("grp/only") == expected
        assert "remote-link" not in gl.read_tree("grp/only")
