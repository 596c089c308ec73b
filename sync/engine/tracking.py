"""Coregit's private sync area in a hosted repository: tracking refs and shallow marks.

An import fetches the remote tip with depth 1, so the fetched commit's parents are missing. git
records such a boundary in the repository's ``shallow`` file, and native git then treats the
commit as a root: once a user pushes a history containing it, ``git rev-list`` shows that history
truncated and ``git gc --prune=now`` deletes the older commits. Without the mark, a ref pointing
at the commit breaks ``git gc`` and ``git fsck`` instead. So neither lives where git looks: the
tracking refs (``refs/sync/<config>/…``) and the marks are kept under ``coregit-sync/`` in the
repository directory, which git ignores. To git a fetched remote commit no branch contains is an
unreachable object; gc may prune it, and the next import then simply fetches without haves.

The engine opens repositories with :func:`open_repo` (a :class:`SyncRepo`, whose walks stop at
these marks). Repositories written by earlier versions (marks in ``shallow``, refs under
``refs/sync/``, their reflogs) are moved here as each one is opened, and all at once by
``manage.py repair_sync_storage``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from dulwich.file import FileLocked
from dulwich.objects import Commit
from dulwich.refs import DiskRefsContainer
from dulwich.repo import ParentsProvider, Repo

from core.errors import RefConflict
from repos import storage

AREA = "coregit-sync"
PREFIX = b"refs/sync/"
_MARKS = "shallow"


class _PresentParents(ParentsProvider):
    """Parents, less those not here: a fetched commit whose ancestors git pruned (they were
    unreachable) ends a walk like a marked one instead of failing it."""

    def get_parents(self, commit_id, commit=None):
        return [p for p in super().get_parents(commit_id, commit) if p in self.store]


class SyncRepo(Repo):
    """A repository whose engine-side walks see the sync area's shallow marks (git does not)."""

    def get_shallow(self) -> set[bytes]:
        return super().get_shallow() | _read_marks(self)

    def update_shallow(self, new_shallow, new_unshallow) -> None:
        record_shallow(self, new_shallow, new_unshallow)

    def parents_provider(self) -> ParentsProvider:
        return _PresentParents(self.object_store, grafts=self._graftpoints,
                               shallows=self.get_shallow())


@contextmanager
def open_repo(path: Path | str) -> Iterator[SyncRepo]:
    """Open ``path`` for a sync run, first moving what older versions left where git looks."""
    repo = SyncRepo(str(path))
    try:
        _repair(repo)
        yield repo
    finally:
        repo.close()


def repair(path: Path | str) -> bool:
    """Move what older versions left in git's view (see :func:`adopt_legacy`); True if any."""
    if not os.path.isdir(path):
        return False
    with storage.open_repo(path) as repo:
        return _repair(repo)


def _repair(repo: Repo) -> bool:
    if not _has_legacy(repo):
        return False
    with storage.repo_lock(repo.controldir()):
        adopt_legacy(repo)
    return True


def _area(repo: Repo) -> str:
    return os.path.join(repo.controldir(), AREA)


def _refs(repo_dir: str) -> DiskRefsContainer:
    return DiskRefsContainer(os.path.join(repo_dir, AREA))  # no logger: no reflogs


def read_ref(repo: Repo, ref: bytes) -> bytes | None:
    try:
        return _refs(repo.controldir())[ref]
    except KeyError:
        return None


def cas_ref(repo: Repo, ref: bytes, old: bytes | None, new: bytes) -> None:
    """Move a tracking ref from ``old`` (None: must not exist) to ``new``, or raise RefConflict."""
    try:
        ok = _refs(repo.controldir()).set_if_equals(ref, old or storage.ZERO_SHA, new)
    except FileLocked as exc:  # another writer holds it: a conflict like any lost race
        raise RefConflict(f"{ref.decode()} is being updated by someone else") from exc
    if not ok:
        raise RefConflict(f"{ref.decode()} moved while it was being updated")


def shallow_marks(repo: Repo) -> set[bytes]:
    """Every commit whose parents this repository lacks: the sync area's marks and git's own."""
    return Repo.get_shallow(repo) | _read_marks(repo)


def _read_marks(repo: Repo) -> set[bytes]:
    try:
        with open(os.path.join(_area(repo), _MARKS), "rb") as f:
            return {line.strip() for line in f if line.strip()}
    except FileNotFoundError:
        return set()


def record_shallow(repo: Repo, new: Iterable[bytes] | None, unshallow: Iterable[bytes] | None,
                   *, lock_held: bool = False) -> None:
    """Update the sync area's marks, never git's ``shallow`` file, under the repository lock
    (taken here unless the caller holds it: ``lock_held``; flock is per open file, so taking it
    twice in one process deadlocks).

    Marks are kept only for commits present here with a parent missing: a commit whose history
    arrived since (a user pushed it) or that git pruned is no boundary any more."""
    if not lock_held:
        with storage.repo_lock(repo.controldir()):
            return record_shallow(repo, new, unshallow, lock_held=True)
    marks = (_read_marks(repo) | set(new or ())) - set(unshallow or ())
    keep = sorted(sha for sha in marks if _lacks_parents(repo, sha))
    area = _area(repo)
    os.makedirs(area, exist_ok=True)
    # Written aside and renamed: readers never see half a file, and no lock file can go stale.
    fd, tmp = tempfile.mkstemp(dir=area, prefix="shallow.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"".join(sha + b"\n" for sha in keep))
        os.replace(tmp, os.path.join(area, _MARKS))
    except BaseException:
        with suppress(OSError):
            os.remove(tmp)
        raise


def _lacks_parents(repo: Repo, sha: bytes) -> bool:
    store = repo.object_store
    if sha not in store:
        return False
    commit = store[sha]
    return isinstance(commit, Commit) and any(p not in store for p in commit.parents)


def delete_refs(repo_path: Path | str, prefix: bytes) -> int:
    """Delete the tracking refs under ``prefix`` (e.g. ``refs/sync/<config>/``), here and where
    older versions kept them. A repository already gone has nothing to delete."""
    if not prefix.startswith(PREFIX) or not os.path.isdir(repo_path):
        return 0
    deleted = 0
    with storage.open_repo(repo_path) as repo, storage.repo_lock(repo_path):
        for refs in (_refs(repo.controldir()), repo.refs):
            for name, sha in _under(refs, prefix).items():
                deleted += bool(refs.remove_if_equals(name, sha))
        _remove_reflogs(repo, prefix)
    return deleted


def _under(refs, prefix: bytes) -> dict[bytes, bytes]:
    return {prefix + name: sha for name, sha in refs.as_dict(prefix.rstrip(b"/")).items()}


def _has_legacy(repo: Repo) -> bool:
    return (os.path.exists(os.path.join(repo.controldir(), "shallow"))
            or bool(_under(repo.refs, PREFIX))
            or os.path.isdir(_reflog_dir(repo, PREFIX)))


def adopt_legacy(repo: Repo) -> None:
    """Move tracking refs, their reflogs and every shallow mark out of git's view (under the
    repository lock). Receive-pack never writes ``shallow``, so every mark there is a sync
    fetch's."""
    area_refs = _refs(repo.controldir())
    for name, sha in _under(repo.refs, PREFIX).items():
        if read_ref(repo, name) is None:
            area_refs.set_if_equals(name, storage.ZERO_SHA, sha)
        repo.refs.remove_if_equals(name, sha)
    _remove_reflogs(repo, PREFIX)
    native = Repo.get_shallow(repo)
    if native:
        record_shallow(repo, native, None, lock_held=True)
        os.remove(os.path.join(repo.controldir(), "shallow"))


def _reflog_dir(repo: Repo, prefix: bytes) -> str:
    return os.path.join(repo.controldir(), "logs", *prefix.decode().strip("/").split("/"))


def _remove_reflogs(repo: Repo, prefix: bytes) -> None:
    # Native gc walks every reflog: one naming a commit with missing parents fails it.
    shutil.rmtree(_reflog_dir(repo, prefix), ignore_errors=True)
