from __future__ import annotations

import pytest

from core.errors import Diverged
from repos import storage
from sync.engine.export_git import run_export
from sync.engine.importer import run_import
from sync.engine.types import ExportRequest, ImportRequest
from tests.support.gitcli import git
from tests.sync.engine.worktree import bare_ref, bare_tree, fill_rich_tree


def _req(env, access, **kw) -> ExportRequest:
    return ExportRequest(repo_path=env.local, branch="main", remote_name=access.url,
                         remote=access, remote_label="origin-test", **kw)


def _follow(req: ExportRequest, result) -> ExportRequest:
    return ExportRequest(**{**req.__dict__, "last_remote_sha": result.remote_sha,
                            "last_local_sha": result.commit_sha, "force": False})


def _parents(path, home, sha: str) -> list[str]:
    out = git("rev-list", "--parents", "-n", "1", sha, cwd=path, home=home).stdout.decode()
    return out.split()[1:]


def test_round_trip_both_directions_keeps_tree_ids(env, session):
    source, source_access = env.remote_repo("source.git")
    wt = env.worktree(source)
    fill_rich_tree(wt)
    wt.commit("rich")
    wt.push()
    imported = run_import(ImportRequest(
        repo_path=env.local, branch="main", remote=source_access,
        tracking_ref=b"refs/sync/x/remote"), session)
    target, target_access = env.remote_repo("target.git")

    exported = run_export(_req(env, target_access), session)

    tree = bare_tree(source, env.home)
    assert bare_tree(env.local, env.home) == tree == bare_tree(target, env.home)
    assert exported.status == "success" and exported.commit_sha == imported.commit_sha
    assert exported.remote_sha == bare_ref(target, env.home) == imported.commit_sha
    assert exported.files_changed == 12

    wt.rm("big/large.dat")
    wt.rm("vendor/sub")
    wt.write("bin/run.sh", "#!/bin/sh\necho changed\n", executable=True)
    wt.commit()
    wt.push()
    run_import(ImportRequest(repo_path=env.local, branch="main", remote=source_access,
                             tracking_ref=b"refs/sync/x/remote",
                             last_remote_sha=imported.remote_sha,
                             last_local_sha=imported.commit_sha), session)
    req = _follow(_req(env, target_access), exported)
    second = run_export(req, session)
    assert (second.files_changed, second.deleted) == (1, 2)
    assert bare_tree(target, env.home) == bare_tree(source, env.home)
    assert run_export(_follow(req, second), session).status == "skipped"


def test_remote_moved_blocks_export_until_forced_and_keeps_remote_history(env, session):
    target, access = env.remote_repo()
    local_wt = env.worktree(env.local, "local-work")
    local_wt.write("a.txt", "local\n")
    local_wt.commit()
    local_wt.push()
    first = run_export(_req(env, access), session)
    req = _follow(_req(env, access), first)
    other = env.worktree(target, "someone-else")
    other.pull()
    other.write("theirs.txt", "remote change\n")
    theirs = other.commit()
    other.push()
    local_wt.write("a.txt", "local 2\n")
    local_wt.commit()
    local_wt.push()

    with pytest.raises(Diverged) as err:
        run_export(req, session)
    assert "force" in err.value.message and "overwrite_diverged" in err.value.message
    assert bare_ref(target, env.home) == theirs

    forced = run_export(ExportRequest(**{**req.__dict__, "force": True}), session)
    assert _parents(target, env.home, forced.remote_sha) == [theirs]
    assert bare_tree(target, env.home) == bare_tree(env.local, env.home)
    assert forced.commit_sha == local_wt.head()
    # The next export builds on the commit the forced one made: no divergence, no force needed.
    local_wt.write("b.txt", "more\n")
    local_wt.commit()
    local_wt.push()
    nxt = run_export(_follow(req, forced), session)
    assert _parents(target, env.home, nxt.remote_sha) == [forced.remote_sha]
    assert bare_tree(target, env.home) == bare_tree(env.local, env.home)


def test_first_export_to_a_remote_with_commits_is_refused(env, session):
    target, access = env.remote_repo()
    other = env.worktree(target, "someone-else")
    other.write("x.txt", "already here\n")
    other.commit()
    other.push()
    local_wt = env.worktree(env.local, "local-work")
    local_wt.write("a.txt", "local\n")
    local_wt.commit()
    local_wt.push()
    with pytest.raises(Diverged, match="never exported"):
        run_export(_req(env, access), session)


def test_first_export_fast_forwards_when_local_history_contains_the_remote(env, session):
    target, access = env.remote_repo()
    wt = env.worktree(target)
    wt.write("x.txt", "shared\n")
    wt.commit()
    wt.push()
    wt.git("push", "-q", str(env.local), "HEAD:refs/heads/main")
    wt.write("x.txt", "newer\n")
    head = wt.commit()
    wt.git("push", "-q", str(env.local), "HEAD:refs/heads/main")
    result = run_export(_req(env, access), session)
    assert result.remote_sha == head == bare_ref(target, env.home)


def test_export_of_missing_local_branch_is_clear(env, session):
    _, access = env.remote_repo()
    with pytest.raises(Exception, match="does not exist"):
        run_export(_req(env, access), session)
    with storage.open_repo(env.local) as repo:
        assert storage.read_ref(repo, b"refs/heads/main") is None
