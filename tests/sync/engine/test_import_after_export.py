"""Switching a config from export to import: its state is reset, nothing may be lost or refused
for no reason."""

from __future__ import annotations

import pytest

from core.errors import Diverged
from repos import storage
from sync.engine.export_git import run_export
from sync.engine.importer import run_import
from sync.engine.types import ExportRequest, ImportRequest
from tests.sync.engine.worktree import bare_tree

TRACK = b"refs/sync/switched/remote"


def _export(env, access, session, **kw):
    return run_export(ExportRequest(repo_path=env.local, branch="main", remote_name=access.url,
                                    remote=access, remote_label="origin-test", **kw), session)


def _import(env, access, session):
    return run_import(ImportRequest(repo_path=env.local, branch="main", remote=access,
                                    tracking_ref=TRACK, remote_label="origin-test"), session)


def _head(env) -> str:
    with storage.open_repo(env.local) as repo:
        return storage.read_ref(repo, b"refs/heads/main").decode()


def _parents(env, sha: str) -> list[str]:
    with storage.open_repo(env.local) as repo:
        return [p.decode() for p in repo[sha.encode()].parents]


def _local_and_remote(env):
    local_wt = env.worktree(env.local, "local-work")
    local_wt.write("a.txt", "local\n")
    local_wt.commit()
    local_wt.push()
    target, access = env.remote_repo()
    return local_wt, target, access


def _push_on_top(env, target, name: str = "someone-else", *extra: str, pull: bool = True
                 ) -> str:
    other = env.worktree(target, name)
    if pull:
        other.pull()
    other.write("theirs.txt", "remote change\n")
    for i, rel in enumerate(extra):
        other.commit()
        other.write(rel, f"{i}\n")
    sha = other.commit()
    other.push()
    return sha


def test_import_after_a_fast_forward_export_brings_remote_changes(env, session):
    local_wt, target, access = _local_and_remote(env)
    exported = _export(env, access, session)
    assert exported.remote_sha == local_wt.head()
    _push_on_top(env, target, "someone-else", "more/1.txt", "more/2.txt")

    result = _import(env, access, session)  # the state was reset: nothing recorded

    assert result.status == "success"
    assert bare_tree(env.local, env.home) == bare_tree(target, env.home)
    assert _parents(env, result.commit_sha) == [exported.commit_sha]  # on top, history kept


def test_import_after_an_export_commit_on_top_is_accepted(env, session):
    local_wt, target, access = _local_and_remote(env)
    _push_on_top(env, target, "earlier", pull=False)  # the remote had its own history: export was forced
    exported = _export(env, access, session, force=True)
    assert exported.remote_sha != exported.commit_sha  # a Coregit commit carrying the trailer
    _push_on_top(env, target, "someone-else", "x.txt")

    result = _import(env, access, session)

    assert result.status == "success"
    assert bare_tree(env.local, env.home) == bare_tree(target, env.home)


def test_import_with_nothing_new_after_export_is_skipped(env, session):
    _local_wt, _target, access = _local_and_remote(env)
    exported = _export(env, access, session)
    result = _import(env, access, session)
    assert result.status == "skipped" and _head(env) == exported.commit_sha


def test_import_refuses_when_the_local_branch_moved_past_the_export(env, session):
    local_wt, target, access = _local_and_remote(env)
    _export(env, access, session)
    local_wt.write("a.txt", "local work not exported\n")
    local_wt.commit()
    local_wt.push()
    _push_on_top(env, target)
    before = _head(env)

    with pytest.raises(Diverged, match="never imported into"):
        _import(env, access, session)
    assert _head(env) == before
