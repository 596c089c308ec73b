"""GitLab export against the colleagues' stateful fake (tests/fakes/gitlab.py) and real client."""

from __future__ import annotations

import os

import pytest

from connections.providers.gitlab import GitLabClient
from core.errors import Diverged
from sync.engine.export_gitlab import run_export
from sync.engine.types import ExportRequest
from tests.fakes.gitlab import FakeGitLab
from tests.sync.engine.worktree import bare_tree, fill_rich_tree

TOKEN = "glpat-test"
REMOTE = "group/sub/proj"


@pytest.fixture
def gitlab(tmp_path):
    fake = FakeGitLab(tmp_path / "gl")
    fake.max_actions = 500
    fake.add_token(TOKEN)
    with fake.mock():
        yield fake
    fake.close()


def _export(env, gitlab, **kw):
    req = ExportRequest(repo_path=env.local, branch="main", remote_name=REMOTE,
                        remote_label="GitLab group/sub/proj", **kw)
    before = len(gitlab.requests)
    result = run_export(req, GitLabClient(TOKEN))
    return result, gitlab.requests[before:]


def _commits(reqs) -> int:
    return sum(1 for method, _u, endpoint in reqs if method == "POST" and "commits" in endpoint)


def _local_files(env) -> dict:
    from repos import storage
    with storage.open_repo(env.local) as repo:
        tree = storage.commit_tree(repo, storage.read_ref(repo, b"refs/heads/main"))
        return {e.path.decode(): (e.mode, storage.read_blob(repo, e.sha)
                                  if e.mode not in (0o120000, 0o160000) else e.sha.decode())
                for e in storage.iter_tree(repo, tree)}


def test_plain_files_export_exactly_and_symlinks_submodules_are_warned(env, gitlab):
    gitlab.create_project(REMOTE, empty=True)
    wt = env.worktree(env.local, "local-work")
    fill_rich_tree(wt, big_mb=1)
    local = wt.commit()
    wt.push()

    result, reqs = _export(env, gitlab)

    assert result.status == "success" and result.commit_sha == local
    remote = gitlab.read_tree(REMOTE)
    expected = {p: v for p, v in _local_files(env).items()
                if p not in ("link-to-readme", "vendor/sub")}
    assert remote == expected  # modes (exec bit), binary, empty, unicode, deep paths all exact
    assert len(result.warnings) == 2 and "link-to-readme" in result.message
    assert any("submodule" in w for w in result.warnings)
    assert _commits(reqs) == 1 and result.files_changed == 10


def test_groups_of_500_chain_on_each_other_and_tree_matches(env, gitlab):
    gitlab.create_project(REMOTE, empty=False)
    wt = env.worktree(env.local, "local-work")
    for i in range(1200):
        wt.write(f"f/{i:04}.txt", f"{i}\n")
    wt.write("tool.sh", "#!/bin/sh\n", executable=True)
    wt.write("blob.bin", b"\x00\x01" + os.urandom(100))
    wt.commit()
    wt.push()
    first, reqs = _export(env, gitlab, force=True)  # the project has a README commit already
    assert _commits(reqs) == 3
    assert gitlab.tree_sha(REMOTE) == bare_tree(env.local, env.home)
    assert first.deleted == 1  # the README the project was created with
    wt.write("tool.sh", "#!/bin/sh\n")  # exec bit dropped only: a chmod action
    wt.rm("f/0007.txt")
    wt.commit()
    wt.push()

    second, reqs = _export(env, gitlab, last_remote_sha=first.remote_sha,
                           last_local_sha=first.commit_sha)

    assert (second.files_changed, second.deleted, _commits(reqs)) == (1, 1, 1)
    assert gitlab.tree_sha(REMOTE) == bare_tree(env.local, env.home)
    again, _ = _export(env, gitlab, last_remote_sha=second.remote_sha,
                       last_local_sha=second.commit_sha)
    assert again.status == "skipped"


def test_remote_moved_refuses_then_force_commits_on_top(env, gitlab):
    gitlab.create_project(REMOTE, empty=True)
    wt = env.worktree(env.local, "local-work")
    wt.write("a.txt", "local\n")
    wt.commit()
    wt.push()
    first, _ = _export(env, gitlab)
    theirs = gitlab.commit(REMOTE, {"a.txt": b"local\n", "theirs.txt": b"x\n"})
    wt.write("a.txt", "local 2\n")
    wt.commit()
    wt.push()
    req = {"last_remote_sha": first.remote_sha, "last_local_sha": first.commit_sha}
    with pytest.raises(Diverged, match="moved since the last export"):
        _export(env, gitlab, **req)

    forced, _ = _export(env, gitlab, force=True, **req)

    assert gitlab.repos[REMOTE].repo[forced.remote_sha.encode()].parents == [theirs.encode()]
    assert gitlab.tree_sha(REMOTE) == bare_tree(env.local, env.home)
