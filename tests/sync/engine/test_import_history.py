"""Imports leave git's view of the repository whole: no shallow marks or tracking refs where
native git looks, no temporary pack after a failed fetch, and an unrecorded first import does not
block the next one."""

from __future__ import annotations

import io
import shutil

import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter

from core.errors import Diverged, ProviderError
from repos import storage
from sync.engine import tracking
from sync.engine.importer import run_import
from sync.engine.types import ImportRequest
from tests.support.gitcli import git
from tests.sync.engine.worktree import bare_tree

TRACK = b"refs/sync/sync_hist/remote"


def _req(env, access, **kw) -> ImportRequest:
    return ImportRequest(repo_path=env.local, branch="main", remote=access, tracking_ref=TRACK,
                         remote_label="origin-test", **kw)


def _remote_with_history(env, commits: int = 3):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    for i in range(commits):
        wt.write("a.txt", f"{i}\n")
        wt.write(f"f{i}.txt", f"file {i}\n")
        wt.commit(f"remote {i}")
    return remote, access, wt, wt.push()


def _native(env, *args: str, check: bool = True, cwd=None):
    return git(*args, cwd=cwd or env.local, home=env.home, check=check)


def test_an_import_writes_no_shallow_mark_or_ref_that_native_git_sees(env, session):
    _remote, access, _wt, rsha = _remote_with_history(env)

    run_import(_req(env, access), session)

    assert not (env.local / "shallow").exists()
    assert _native(env, "for-each-ref", "refs/sync/").stdout == b""
    assert not (env.local / "logs" / "refs" / "sync").exists()
    with tracking.open_repo(env.local) as repo:
        assert tracking.read_ref(repo, TRACK).decode() == rsha
        assert tracking.shallow_marks(repo) == {rsha.encode()}  # its parents were not fetched
    assert _native(env, "fsck").returncode == 0
    copy = env.tmp / "copy.git"
    shutil.copytree(env.local, copy)
    _native(env, "gc", "--prune=now", "-q", cwd=copy)
    assert _native(env, "fsck", cwd=copy).returncode == 0


def test_marks_of_earlier_imports_are_moved_out_of_git_view_by_the_next_run(env, session):
    _remote, access, wt, first = _remote_with_history(env)
    done = run_import(_req(env, access), session)
    with storage.open_repo(env.local) as repo:  # what earlier versions left behind
        storage.cas_ref(repo, TRACK, None, first.encode(), message=b"legacy")
        (env.local / "shallow").write_bytes(first.encode() + b"\n")
    (env.local / "coregit-sync").rename(env.tmp / "area-of-new-version")
    assert _native(env, "rev-parse", "--is-shallow-repository").stdout.strip() == b"true"
    wt.write("a.txt", "more\n")
    second = wt.commit()
    wt.push()

    run_import(_req(env, access, last_remote_sha=first, last_local_sha=done.commit_sha), session)

    assert not (env.local / "shallow").exists()
    assert _native(env, "for-each-ref", "refs/sync/").stdout == b""
    assert not (env.local / "logs" / "refs" / "sync").exists()
    with tracking.open_repo(env.local) as repo:
        assert tracking.read_ref(repo, TRACK).decode() == second
        assert tracking.shallow_marks(repo) == {first.encode()}  # second's parent is here
    assert _native(env, "fsck").returncode == 0


def test_repair_moves_legacy_marks_and_refs_without_a_run(env, session):
    _remote, access, _wt, rsha = _remote_with_history(env)
    run_import(_req(env, access), session)
    shutil.rmtree(env.local / "coregit-sync")
    with storage.open_repo(env.local) as repo:
        storage.cas_ref(repo, TRACK, None, rsha.encode(), message=b"legacy")
    (env.local / "shallow").write_bytes(rsha.encode() + b"\n")

    assert tracking.repair(env.local) is True

    assert not (env.local / "shallow").exists()
    assert _native(env, "for-each-ref", "refs/sync/").stdout == b""
    with tracking.open_repo(env.local) as repo:
        assert tracking.read_ref(repo, TRACK).decode() == rsha
        assert tracking.shallow_marks(repo) == {rsha.encode()}
    assert tracking.repair(env.local) is False
    assert tracking.repair(env.tmp / "no-such-repo.git") is False


def test_deleting_tracking_refs_removes_them_wherever_they_are(env, session):
    _remote, access, _wt, rsha = _remote_with_history(env)
    run_import(_req(env, access), session)
    other = b"refs/sync/other/remote"
    with storage.open_repo(env.local) as repo:
        storage.cas_ref(repo, TRACK.replace(b"/remote", b"/legacy"), None, rsha.encode())
        tracking.cas_ref(repo, other, None, rsha.encode())

    assert tracking.delete_refs(env.local, b"refs/sync/sync_hist/") == 2

    with tracking.open_repo(env.local) as repo:
        assert tracking.read_ref(repo, TRACK) is None
        assert storage.read_ref(repo, TRACK.replace(b"/remote", b"/legacy")) is None
        assert tracking.read_ref(repo, other).decode() == rsha  # another config's: kept
    assert tracking.delete_refs(env.tmp / "gone.git", b"refs/sync/x/") == 0


def test_an_unrecorded_first_import_does_not_block_the_next(env, session):
    remote, access, wt, _rsha = _remote_with_history(env)
    crashed = run_import(_req(env, access), session)  # ... the worker dies before recording it
    wt.write("a.txt", "moved on\n")
    wt.commit()
    moved = wt.push()

    again = run_import(_req(env, access), session)  # still no recorded state

    assert (again.status, again.remote_sha) == ("success", moved)
    with storage.open_repo(env.local) as repo:
        head = storage.read_ref(repo, b"refs/heads/main")
        assert repo[head].parents == [crashed.commit_sha.encode()]
        assert repo[head].tree.decode() == bare_tree(remote, env.home)


def test_local_work_on_an_unrecorded_first_import_still_diverges(env, session):
    _remote, access, wt, _rsha = _remote_with_history(env)
    run_import(_req(env, access), session)
    local = env.worktree(env.local, "local-work")
    local.pull()
    local.write("mine.txt", "local\n")
    mine = local.commit("Local work\n\nCoregit-Sync-Remote-Sha: " + _rsha)  # even with a trailer
    local.push()
    wt.write("a.txt", "moved on\n")
    wt.commit()
    wt.push()

    with pytest.raises(Diverged):
        run_import(_req(env, access), session)
    with storage.open_repo(env.local) as repo:
        assert storage.read_ref(repo, b"refs/heads/main").decode() == mine


def test_a_copied_trailer_on_top_of_the_recorded_import_still_diverges(env, session):
    _remote, access, wt, rsha = _remote_with_history(env)
    first = run_import(_req(env, access), session)
    local = env.worktree(env.local, "local-copy")
    local.pull()
    local.write("mine.txt", "local\n")
    # A cherry-pick or `git commit -C` of an import copies its trailer onto other content.
    mine = local.commit("Copied\n\nCoregit-Sync-Remote-Sha: " + rsha)
    local.push()
    wt.write("a.txt", "moved on\n")
    wt.commit()
    wt.push()

    recorded = _req(env, access, last_remote_sha=rsha, last_local_sha=first.commit_sha)
    with pytest.raises(Diverged):
        run_import(recorded, session)
    with storage.open_repo(env.local) as repo:
        assert storage.read_ref(repo, b"refs/heads/main").decode() == mine


HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_fetch_stores_its_pack_and_shallow_marks_only_under_the_repository_lock(
        env, session, monkeypatch):
    import subprocess
    import sys

    from core.errors import RefConflict
    from sync.engine.fetch import fetch_branch_tip
    from sync.engine.transport import make_client

    _remote, access, _wt, rsha = _remote_with_history(env)
    monkeypatch.setattr(storage, "LOCK_WAIT_SECONDS", 1.0)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(env.local / storage.LOCK_FILE)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with tracking.open_repo(env.local) as repo, pytest.raises(RefConflict):
            fetch_branch_tip(repo, make_client(access, session), "main", haves=[], label="o")
        with tracking.open_repo(env.local) as repo:  # nothing moved in while another held it
            assert rsha.encode() not in repo.object_store
            assert tracking.shallow_marks(repo) == set()
        assert list((env.local / "objects" / "pack").glob("tmp*")) == []
    finally:
        holder.stdin.close()
        holder.wait(60)
    with tracking.open_repo(env.local) as repo:
        fetched = fetch_branch_tip(repo, make_client(access, session), "main", haves=[],
                                   label="o")
        assert fetched.sha.decode() == rsha and tracking.shallow_marks(repo) == {fetched.sha}


class _DamagedTransfer(HTTPAdapter):
    """Flips one byte in the middle of the pack data an upload-pack response carries."""

    damaged = 0

    def send(self, request, **kwargs):
        resp = super().send(request, **kwargs)
        if request.method == "POST" and request.url.endswith("git-upload-pack"):
            raw = resp.raw.read()
            data = _flip_pack_byte(raw)
            self.damaged += data != raw
            resp.raw = urllib3.HTTPResponse(body=io.BytesIO(data), preload_content=False,
                                            status=resp.status_code, headers=resp.raw.headers)
        return resp


def _flip_pack_byte(data: bytes) -> bytes:
    """``data`` with one byte of its pack flipped (unchanged when it carries no pack)."""
    spans, i = [], 0  # (offset, length) of side-band 1 payloads: the pack
    while i + 4 <= len(data):
        size = int(data[i:i + 4], 16)
        if size < 4:
            i += 4
            continue
        if data[i + 4] == 1:
            spans.append((i + 5, size - 5))
        i += size
    total = sum(n for _, n in spans)
    if total < 1000:
        return data  # a ref listing (protocol v2), not a pack
    target = total // 2
    for offset, n in spans:
        if target < n:
            out = bytearray(data)
            out[offset + target] ^= 0xFF
            return bytes(out)
        target -= n
    raise AssertionError("unreachable")


def _temp_files(env) -> list[str]:
    objects = env.local / "objects"
    return sorted(str(p.relative_to(objects)) for p in objects.rglob("*")
                  if p.is_file() and not p.name.startswith("pack-")
                  and p.parent.name in ("pack", "objects"))


@pytest.mark.parametrize("incremental", [False, True], ids=["first", "thin"])
def test_a_damaged_pack_fails_cleanly_and_leaves_no_temporary_file(env, session, incremental):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    wt.write("big.txt", "".join(f"line {i} {i * 7919 % 10007}\n" for i in range(20_000)))
    wt.commit()
    wt.push()
    req = _req(env, access)
    if incremental:
        first = run_import(req, session)
        req = ImportRequest(**{**req.__dict__, "last_remote_sha": first.remote_sha,
                               "last_local_sha": first.commit_sha})
        wt.write("big.txt", "".join(f"other {i} {i * 104729 % 7919}\n" for i in range(20_000)))
        wt.commit()
        wt.push()
    before = _temp_files(env)
    adapter = _DamagedTransfer()
    with requests.Session() as damaged:
        damaged.mount("http://", adapter)
        with pytest.raises(ProviderError, match="damaged pack"):
            run_import(req, damaged)
    assert adapter.damaged == 1

    assert _temp_files(env) == before == []
    assert run_import(req, session).status == "success"  # nothing half-stored blocks a retry
    assert _native(env, "fsck").returncode == 0


def test_native_gc_of_the_unreachable_remote_commit_costs_only_a_full_fetch(env, session):
    remote, access, wt, rsha = _remote_with_history(env)
    first = run_import(_req(env, access), session)
    _native(env, "gc", "-q", "--prune=now")  # the fetched remote commit is unreachable to git
    with storage.open_repo(env.local) as repo:
        assert rsha.encode() not in repo.object_store
    wt.write("a.txt", "moved\n")
    moved = wt.commit()
    wt.push()

    again = run_import(_req(env, access, last_remote_sha=rsha, last_local_sha=first.commit_sha),
                       session)

    assert (again.status, again.remote_sha) == ("success", moved)
    assert _native(env, "rev-parse", "main^{tree}").stdout.decode().strip() == bare_tree(
        remote, env.home)
    assert _native(env, "fsck").returncode == 0


def test_engine_walks_end_where_git_pruned_history(env):
    with storage.open_repo(env.local) as repo:
        tree = storage.write_blob(repo, b"x")  # any object: the commits below only need a tree id
        a = storage.write_commit(repo, tree=tree, parents=[], message="a\n")
        b = storage.write_commit(repo, tree=tree, parents=[a], message="b\n")
        c = storage.write_commit(repo, tree=tree, parents=[b], message="c\n")
    (env.local / "objects" / a.decode()[:2] / a.decode()[2:]).unlink()  # pruned, no mark

    with tracking.open_repo(env.local) as repo:
        assert [e.commit.id for e in repo.get_walker(include=[c])] == [c, b]
        assert storage.is_ancestor(repo, b, c) and not storage.is_ancestor(repo, a, c)
