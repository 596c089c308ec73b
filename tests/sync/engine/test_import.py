from __future__ import annotations

import pytest

from core.errors import Diverged, ProviderAuthError, ProviderNotFound, RefConflict, UnsafeAddress
from repos import storage
from sync.engine import importer, tracking
from sync.engine.importer import run_import
from sync.engine.types import ImportRequest
from tests.sync.engine.worktree import bare_ref, bare_tree, fill_rich_tree

TRACK = b"refs/sync/sync_test/remote"


def _req(env, access, **kw) -> ImportRequest:
    return ImportRequest(
        repo_path=env.local, branch="main", remote=access, tracking_ref=TRACK,
        remote_label="origin-test", **kw,
    )


def _follow(req: ImportRequest, result) -> ImportRequest:
    """The request the next run gets once the database recorded this result."""
    return ImportRequest(**{**req.__dict__, "last_remote_sha": result.remote_sha,
                            "last_local_sha": result.commit_sha, "force": False})


def _local(env, ref: bytes = b"refs/heads/main") -> tuple[bytes | None, bytes | None]:
    with storage.open_repo(env.local) as repo:
        sha = storage.read_ref(repo, ref)
        return sha, (storage.commit_tree(repo, sha) if sha else None)


def test_first_import_reproduces_the_remote_tree_exactly(env, session):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    fill_rich_tree(wt)
    wt.commit("rich")
    rsha = wt.push()

    result = run_import(_req(env, access), session)

    sha, tree = _local(env)
    assert result.status == "success" and result.remote_sha == rsha
    assert result.commit_sha == sha.decode()
    assert tree.decode() == bare_tree(remote, env.home)
    assert result.files_changed == 12 and result.deleted == 0
    with storage.open_repo(env.local) as repo:
        commit = repo[sha]
        assert f"Coregit-Sync-Remote-Sha: {rsha}".encode() in commit.message
        # The depth-1 boundary and the tracking ref live in the sync area, out of git's view.
        assert storage.read_ref(repo, TRACK) is None and repo.get_shallow() == set()
        assert tracking.read_ref(repo, TRACK).decode() == rsha
        assert tracking.shallow_marks(repo) == set()  # a root commit: no parent is missing


def test_no_change_is_skipped_and_deletions_are_counted(env, session):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    fill_rich_tree(wt, big_mb=0)
    wt.commit()
    wt.push()
    req = _req(env, access)
    first = run_import(req, session)
    req = _follow(req, first)

    again = run_import(req, session)
    assert again.status == "skipped" and again.commit_sha == first.commit_sha
    assert _local(env)[0].decode() == first.commit_sha

    wt.rm("empty.txt")
    wt.rm("link-to-readme")
    wt.write("README.md", "# changed\n")
    wt.commit()
    wt.push()
    third = run_import(req, session)
    assert (third.status, third.files_changed, third.deleted) == ("success", 1, 2)
    assert _local(env)[1].decode() == bare_tree(remote, env.home)
    with storage.open_repo(env.local) as repo:
        assert repo[third.commit_sha.encode()].parents == [first.commit_sha.encode()]


def test_incremental_import_downloads_only_the_change(env, session):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    for i in range(400):
        wt.write(f"src/pkg{i % 20}/file{i}.txt", f"file {i}\n" + "x" * 3000 + f"{i}\n")
    wt.commit()
    wt.push()
    req = _req(env, access)
    first = run_import(req, session)

    for i in range(0, 400, 40):  # 10 changed files
        wt.write(f"src/pkg{i % 20}/file{i}.txt", f"changed {i}\n")
    wt.commit()
    wt.push()
    second = run_import(_follow(req, first), session)

    assert second.files_changed == 10
    assert second.bytes_received < first.bytes_received / 20
    assert second.bytes_received < 8_000
    assert _local(env)[1].decode() == bare_tree(remote, env.home)


def test_local_commits_block_import_until_forced_and_history_is_kept(env, session):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    wt.write("a.txt", "one\n")
    wt.commit()
    wt.push()
    req = _req(env, access)
    first = run_import(req, session)
    req = _follow(req, first)
    local_wt = env.worktree(env.local, "local-work")
    local_wt.pull()
    local_wt.write("local-only.txt", "mine\n")
    local_commit = local_wt.commit("local work")
    local_wt.push()
    wt.write("a.txt", "two\n")
    wt.commit()
    wt.push()

    with pytest.raises(Diverged) as err:
        run_import(req, session)
    assert "force" in err.value.message and "overwrite_diverged" in err.value.message
    assert _local(env)[0].decode() == local_commit

    forced = run_import(ImportRequest(**{**req.__dict__, "force": True}), session)
    with storage.open_repo(env.local) as repo:
        assert repo[forced.commit_sha.encode()].parents == [local_commit.encode()]
    assert _local(env)[1].decode() == bare_tree(remote, env.home)


def test_first_import_into_a_branch_with_content_is_refused(env, session):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    wt.write("a.txt", "remote\n")
    wt.commit()
    wt.push()
    local_wt = env.worktree(env.local, "local-work")
    local_wt.write("b.txt", "local\n")
    local_wt.commit()
    local_wt.push()
    with pytest.raises(Diverged):
        run_import(_req(env, access), session)


def test_a_push_racing_the_import_is_not_lost(env, session, monkeypatch):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    wt.write("a.txt", "remote\n")
    wt.commit()
    wt.push()
    req = _req(env, access)
    first = run_import(req, session)
    local_wt = env.worktree(env.local, "local-work")
    local_wt.pull()
    wt.write("a.txt", "remote 2\n")
    wt.commit()
    wt.push()
    real_write = importer.storage.write_commit

    def write_then_someone_pushes(*args, **kw):
        sha = real_write(*args, **kw)
        local_wt.write("pushed.txt", "racing push\n")
        local_wt.commit()
        local_wt.push()
        return sha

    monkeypatch.setattr(importer.storage, "write_commit", write_then_someone_pushes)
    with pytest.raises(RefConflict, match="moved during import"):
        run_import(_follow(req, first), session)
    assert _local(env)[0].decode() == local_wt.head()


def test_rerun_after_a_crash_creates_no_second_commit(env, session):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    wt.write("a.txt", "one\n")
    wt.commit()
    wt.push()
    req = _req(env, access)
    first = run_import(req, session)
    req = _follow(req, first)
    wt.write("a.txt", "two\n")
    wt.commit()
    wt.push()
    done = run_import(req, session)  # ... and the worker dies before the database records it
    again = run_import(req, session)
    assert (again.status, again.commit_sha) == ("success", done.commit_sha)
    assert _local(env)[0].decode() == done.commit_sha
    assert run_import(_follow(req, again), session).status == "skipped"


def test_remote_errors_are_clear_and_never_show_the_password(env, session):
    remote, access = env.remote_repo()
    bad = type(access)(url=access.url, username=access.username, password="wrong-password")
    with pytest.raises(ProviderAuthError) as err:
        run_import(_req(env, bad), session)
    assert "wrong-password" not in str(err.value) and "s3cret" not in str(err.value)
    missing = type(access)(url=env.server.url("nope.git"), username="sync-bot",
                           password=access.password)
    with pytest.raises(ProviderNotFound):
        run_import(_req(env, missing), session)
    with pytest.raises(ProviderNotFound, match="no branch"):  # empty remote
        run_import(_req(env, access), session)
    assert bare_ref(remote, env.home) is None


@pytest.mark.parametrize("url", ["file:///etc", "ssh://git@example.com/x.git",
                                 "git://example.com/x.git", "/srv/repo.git",
                                 "https://user:pw@example.com/x.git"])
def test_only_plain_http_urls_reach_dulwich(env, session, url):
    access = type("A", (), {"url": url, "username": "", "password": ""})()
    with pytest.raises(UnsafeAddress):
        run_import(_req(env, access), session)
