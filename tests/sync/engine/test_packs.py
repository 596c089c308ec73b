"""Packs indexed by ``git index-pack`` hold exactly what dulwich's indexer would store, leave
nothing behind when the transfer breaks, and dulwich still indexes when git is not there."""

from __future__ import annotations

import hashlib
import io

import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter

from core.errors import ProviderError
from repos import storage
from sync.engine import packs, tracking
from sync.engine.fetch import fetch_branch_tip
from sync.engine.mirror_import import run_mirror_import
from sync.engine.mirror_refs import MirrorRequest
from sync.engine.transport import make_client
from tests.support.gitcli import git
from tests.sync.mirror.history import build_history


@pytest.fixture
def made(monkeypatch) -> list:
    """The writer of each incoming pack, in order."""
    writers: list = []
    real = packs.new_pack

    def spy(store, git_dir):
        writers.append(real(store, git_dir))
        return writers[-1]

    monkeypatch.setattr(packs, "new_pack", spy)
    return writers


def _kinds(writers: list) -> list[str]:
    return [type(w).__name__ for w in writers]


def _without_git(monkeypatch, how: str) -> None:
    if how == "no git on PATH":
        monkeypatch.setenv("PATH", "/nonexistent")
    else:
        monkeypatch.setenv(packs.ENV_VAR, "dulwich")


def _objects(path) -> dict[bytes, tuple[int, bytes]]:
    with storage.open_repo(path) as repo:
        store = repo.object_store
        return {sha: store.get_raw(sha) for sha in store}


def _fsck(env, path) -> str:
    done = git("fsck", "--full", "--no-dangling", cwd=path, home=env.home, check=False)
    out = (done.stdout + done.stderr).decode()
    assert done.returncode == 0, out
    return out


@pytest.mark.parametrize("fallback", ["no git on PATH", "COREGIT_INDEX_PACK=dulwich"])
def test_snapshot_fetches_store_the_same_objects_as_dulwich(env, session, made, monkeypatch,
                                                           fallback):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    text = "".join(f"line {i} {i * 7919 % 10007}\n" for i in range(20_000))
    wt.write("big.txt", text)
    wt.symlink("link", "big.txt")
    first = wt.commit("first")
    wt.write("big.txt", text.replace("line 500 ", "line five hundred "))
    wt.write("new.txt", "new\n")
    second = wt.commit("second")
    client = make_client(access, session)
    ours, theirs = env.tmp / "git.git", env.tmp / "dulwich.git"

    def fetch_twice(path, fallback=None):
        storage.init_bare(path, default_branch="main")
        fetched = []
        with tracking.open_repo(path) as repo:
            for tip, haves in ((first, []), (second, [first.encode()])):
                # The second fetch is incremental: big.txt comes as a delta against the version
                # we hold (a thin pack).
                wt.git("push", "-q", "-f", str(remote), f"{tip}:refs/heads/main")
                with monkeypatch.context() as m:
                    if fallback:
                        _without_git(m, fallback)
                        assert packs.git_binary() is None
                    fetched.append(fetch_branch_tip(repo, client, "main", haves=haves,
                                                    label="o"))
        return fetched[-1]

    mine = fetch_twice(ours)
    other = fetch_twice(theirs, fallback)

    assert _kinds(made) == ["GitIndexPack", "GitIndexPack", "DulwichPack", "DulwichPack"]
    assert mine.sha == other.sha == second.encode()
    assert mine.pack_bytes < 8_000  # a thin pack travelled, and was completed with its base
    assert _objects(ours) == _objects(theirs)
    marks = []
    for path in (ours, theirs):
        with tracking.open_repo(path) as repo:
            marks.append(tracking.shallow_marks(repo))
    assert marks[0] == marks[1]
    assert not (ours / "shallow").exists()  # the depth-1 boundary stays out of git's view
    _fsck(env, ours)


def test_mirror_imports_store_the_same_objects_as_dulwich(env, session, made, monkeypatch):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    build_history(wt)
    wt.git("checkout", "-q", "main")
    old = wt.head()
    wt.write("a.txt", "3\n" * 500)
    new = wt.commit("c3")
    sides = {}
    for name in ("git", "dulwich"):
        path = sides[name] = env.tmp / f"{name}.git"
        storage.init_bare(path, default_branch="main")
        req = MirrorRequest(repo_path=path, remote=access, branch="main",
                            branches=["main", "release/*"], tags=True, remote_label="o")
        for tip in (old, new):  # the second run brings one commit: a thin pack
            wt.git("push", "-q", "-f", str(remote), f"{tip}:refs/heads/main")
            with monkeypatch.context() as m:
                if name == "dulwich":
                    m.setenv(packs.ENV_VAR, "dulwich")
                run_mirror_import(req, session)

    assert _kinds(made) == ["GitIndexPack", "GitIndexPack", "DulwichPack", "DulwichPack"]
    assert _objects(sides["git"]) == _objects(sides["dulwich"])
    assert _fsck(env, sides["git"]) == ""
    refs = [git("for-each-ref", cwd=p, home=env.home).stdout for p in sides.values()]
    assert refs[0] == refs[1]


class _CutTransfer(HTTPAdapter):
    """Ends the upload-pack response halfway through (a connection that breaks mid-pack)."""

    def send(self, request, **kwargs):
        resp = super().send(request, **kwargs)
        if request.method == "POST" and request.url.endswith("git-upload-pack"):
            raw = resp.raw.read()
            if len(raw) > 10_000:
                raw = raw[: len(raw) // 2]
            resp.raw = urllib3.HTTPResponse(body=io.BytesIO(raw), preload_content=False,
                                            status=resp.status_code, headers=resp.raw.headers)
        return resp


def test_a_transfer_cut_mid_pack_leaves_nothing_in_the_store(env, made):
    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    # Incompressible, so the pack spans several 64 KB side-band packets whatever their framing:
    # the cut at half always comes after index-pack was fed (and started), never inside the first.
    wt.write("big.bin", b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(16_000)))
    wt.write("noise.txt", "".join(f"{i * 104729 % 7919}\n" for i in range(40_000)))
    wt.commit()
    wt.push()
    before = sorted(p.name for p in (env.local / "objects").rglob("*"))
    with requests.Session() as cut, tracking.open_repo(env.local) as repo:
        cut.mount("http://", _CutTransfer())
        with pytest.raises(ProviderError):
            fetch_branch_tip(repo, make_client(access, cut), "main", haves=[], label="o")

    assert _kinds(made) == ["GitIndexPack"]
    assert made[0]._proc.returncode is not None  # index-pack was stopped, not left running
    assert sorted(p.name for p in (env.local / "objects").rglob("*")) == before


def test_a_first_import_counts_the_same_files_with_git_and_with_dulwich(env, session,
                                                                        monkeypatch):
    from sync.engine.importer import run_import
    from sync.engine.types import ImportRequest

    remote, access = env.remote_repo()
    wt = env.worktree(remote)
    wt.write("a.txt", "a\n")
    wt.write("empty", "")
    wt.write("deep/er/still/b.txt", "b\n", executable=True)
    wt.symlink("deep/link", "er/still/b.txt")
    wt.gitlink("vendor/lib", "1" * 40)
    wt.commit()
    wt.push()
    counted = []
    for fallback in (False, True):
        local = env.tmp / f"local-{fallback}.git"
        storage.init_bare(local, default_branch="main")
        req = ImportRequest(repo_path=local, branch="main", remote=access,
                            tracking_ref=b"refs/sync/t/remote", remote_label="o")
        with monkeypatch.context() as m:
            if fallback:
                m.setenv(packs.ENV_VAR, "dulwich")
            result = run_import(req, session)
        counted.append((result.files_changed, result.deleted))
    assert counted == [(5, 0), (5, 0)]
