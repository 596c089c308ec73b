"""Store a pack received by a fetch: indexed by ``git index-pack`` when git is here, else dulwich.

Why git: indexing (inflating every object to hash it, walking delta chains, completing a thin
pack with the bases it refers to) is most of a first import's time, and dulwich does it in Python
on one core while ``git index-pack`` does it in C on every core. The pack is streamed into
``git index-pack --stdin --fix-thin`` while it downloads, as ``git clone`` does, so indexing
overlaps the transfer (measured against spooling first: docs/benchmarks.md). The objects stored
are the same either way (the fallback is checked against it in tests/sync/engine/test_packs.py).

``COREGIT_INDEX_PACK=dulwich`` forces dulwich's indexer; without a ``git`` on ``PATH`` it is used
anyway.

Nothing half-written ever reaches ``objects/pack``: index-pack writes into a scratch directory
``objects/incoming-*`` (the prefix the periodic sweep removes after a crash, see
``repos.tmp_sweep``), then the pack and, last, its index are renamed in (git and dulwich ignore
a pack until its index exists). No ``.keep`` file is written, so none can be left behind; the
caller moves its refs right after, as with dulwich's indexer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zlib
from contextlib import suppress

from dulwich.errors import ApplyDeltaError, ChecksumMismatch
from dulwich.object_store import DiskObjectStore

from repos.quarantine import QUARANTINE_PREFIX

ENV_VAR = "COREGIT_INDEX_PACK"
STREAM = True  # False: spool the whole pack, then index it (kept to measure the two; see bench/)
_PIPE_BUFFER = 1 << 18


class IndexPackFailed(Exception):
    """``git index-pack`` refused the pack (its first error line is the message)."""


DAMAGED = (ChecksumMismatch, ApplyDeltaError, zlib.error, AssertionError, KeyError,
           IndexPackFailed)


def git_binary() -> str | None:
    """The git used to index packs, or None for dulwich's indexer (forced, or no git here)."""
    if os.environ.get("COREGIT_INDEX_PACK", "").strip().lower() == "dulwich":  # ENV_VAR
        return None
    return shutil.which("git")


def git_env(git_dir: str) -> dict[str, str]:
    """The environment for git on the repository ``git_dir``: GIT_DIR names it outright (no
    discovery), and no variable of a calling git (a hook's GIT_OBJECT_DIRECTORY) leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_DIR=os.path.abspath(git_dir), LC_ALL="C")
    return env


def count_files(git_dir: str, tree: bytes) -> int | None:
    """The files (and submodule links) under ``tree``, counted by git in C; None without git."""
    git = git_binary()
    if git is None:
        return None
    done = subprocess.run([git, "ls-tree", "-r", "-z", "--name-only", tree.decode()],
                          env=git_env(git_dir), cwd=git_dir, capture_output=True)
    return done.stdout.count(b"\0") if done.returncode == 0 else None


def new_pack(store: DiskObjectStore, git_dir: str) -> DulwichPack | GitIndexPack:
    """A writer for one incoming pack of the repository ``git_dir`` (whose store is ``store``)."""
    git = git_binary()
    return GitIndexPack(store, git_dir, git) if git else DulwichPack(store)


class DulwichPack:
    """The fallback: dulwich's own new pack file (``objects/pack/tmp*.pack``), indexed in place."""

    def __init__(self, store: DiskObjectStore) -> None:
        self._file, self._commit, self._abort = store.add_pack()

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        self._commit()

    def abort(self) -> None:
        with suppress(OSError):  # already moved or removed by dulwich's own cleanup
            self._abort()


class GitIndexPack:
    """``git index-pack --stdin --fix-thin`` fed as the pack arrives, in a scratch directory."""

    def __init__(self, store: DiskObjectStore, git_dir: str, git: str) -> None:
        self._store = store
        self._git_dir = os.path.abspath(git_dir)
        self._git = git
        self._scratch = tempfile.mkdtemp(prefix=QUARANTINE_PREFIX, dir=store.path)
        self._pack = os.path.join(self._scratch, "incoming.pack")
        self._errors = tempfile.TemporaryFile(dir=self._scratch)
        self._proc: subprocess.Popen | None = None
        self._spool = None if STREAM else open(os.path.join(self._scratch, "spool"), "w+b")  # noqa: SIM115

    def write(self, data: bytes) -> None:
        if self._spool is not None:
            self._spool.write(data)
            return
        if self._proc is None:
            self._proc = self._start(subprocess.PIPE)
        try:
            self._proc.stdin.write(data)
        except BrokenPipeError:  # index-pack stopped reading: it refused the pack
            self._proc.stdin = None
            raise self._failure(self._proc.wait()) from None

    def commit(self) -> None:
        if self._spool is not None:
            self._spool.seek(0)
            self._proc = self._start(self._spool)
        proc = self._proc
        assert proc is not None, "commit() of a pack that received no data"
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise self._failure(proc.returncode)
        self._publish(out.decode().split()[-1])
        self.abort()  # the scratch directory, now empty but for the error log

    def abort(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()  # a run stopped mid-fetch (time limit, network error)
            with suppress(OSError):
                self._proc.communicate()
        for f in (self._errors, self._spool):
            if f is not None:
                f.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _start(self, stdin) -> subprocess.Popen:
        # --fix-thin takes a thin pack's bases from the repository. No reverse index: dulwich
        # does not read one, and the pack and its index are the two files published.
        return subprocess.Popen(
            [self._git, "index-pack", "--stdin", "--fix-thin", "--no-rev-index", self._pack],
            stdin=stdin, stdout=subprocess.PIPE, stderr=self._errors, env=git_env(self._git_dir),
            cwd=self._git_dir, bufsize=_PIPE_BUFFER,
        )

    def _failure(self, code: int) -> IndexPackFailed:
        self._errors.seek(0)
        lines = [ln.strip() for ln in self._errors.read().decode(errors="replace").splitlines()]
        first = next((ln for ln in lines if ln), f"exit status {code}")
        return IndexPackFailed(f"git index-pack: {first[:200]}")

    def _publish(self, name: str) -> None:
        """Rename the pack, then its index, into the store (readers wait for the index)."""
        target = os.path.join(self._store.pack_dir, f"pack-{name}")
        for suffix in (".pack", ".idx"):
            os.chmod(self._pack[: -len(".pack")] + suffix, 0o444)
            os.replace(self._pack[: -len(".pack")] + suffix, target + suffix)
        self._store.packs  # noqa: B018 - rescans the pack directory: dulwich sees the new pack
