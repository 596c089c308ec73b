"""The one module through which local bare repositories are read and written (Django-free).

Everything here works on dulwich ``Repo`` objects opened with :func:`open_repo`, which closes them
explicitly: left to the garbage collector, dulwich repositories raise at interpreter shutdown.
Refs change only through :func:`cas_ref` (compare-and-swap on dulwich's locked ref files), so a
``git push`` racing a sync is never lost: one of the two updates fails instead.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dulwich.diff_tree import tree_changes
from dulwich.file import FileLocked
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from core.errors import RefConflict

ZERO_SHA = b"0" * 40
LOCK_FILE = "coregit.lock"
LOCK_WAIT_SECONDS = 300.0  # a holder this slow is hung: give up (a transient conflict) and retry


def branch_ref(branch: str) -> bytes:
    return b"refs/heads/" + branch.encode()


def init_bare(path: Path, *, default_branch: str) -> None:
    """Create an empty bare repository whose HEAD names ``default_branch``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    repo = Repo.init_bare(str(path), mkdir=True)
    try:
        repo.refs.set_symbolic_ref(b"HEAD", branch_ref(default_branch))
    finally:
        repo.close()


def remove(path: Path) -> None:
    """Delete a repository from disk; a missing directory is not an error."""
    if path.exists():
        # Rename first so a half-deleted tree is never served under the live name.
        doomed = path.with_name(f".deleting-{path.name}-{os.getpid()}-{time.monotonic_ns()}")
        os.replace(path, doomed)
        shutil.rmtree(doomed, ignore_errors=True)


@contextmanager
def open_repo(path: Path | str) -> Iterator[Repo]:
    repo = Repo(str(path))
    try:
        yield repo
    finally:
        repo.close()


@contextmanager
def repo_lock(path: Path | str, *, timeout: float | None = None) -> Iterator[None]:
    """An exclusive per-repository lock across processes on this host (held while syncing).

    Waits at most ``timeout`` seconds (default LOCK_WAIT_SECONDS), then raises RefConflict: a
    hung holder must not block every later run forever, and a conflict is retried later.
    flock belongs to the open file: taking it again in a process that holds it deadlocks.
    """
    fd = os.open(os.path.join(str(path), LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _wait_for_lock(fd, LOCK_WAIT_SECONDS if timeout is None else timeout)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _wait_for_lock(fd: int, timeout: float) -> None:
    deadline, pause = time.monotonic() + timeout, 0.01
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise RefConflict(
                    f"The repository is locked by another operation (waited {timeout:.0f}s)"
                ) from None
            time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, 0.5)


def read_ref(repo: Repo, ref: bytes) -> bytes | None:
    try:
        return repo.refs[ref]
    except KeyError:
        return None


def cas_ref(repo: Repo, ref: bytes, old: bytes | None, new: bytes, *, message: bytes = b"") -> None:
    """Move ``ref`` from ``old`` (None: must not exist) to ``new``, or raise RefConflict.

    A ref whose ``.lock`` file exists is being updated by someone else: that is a conflict too
    (transient: the caller retries), never an unexpected error.
    """
    try:
        ok = repo.refs.set_if_equals(ref, old if old is not None else ZERO_SHA, new,
                                     message=message)
    except FileLocked:
        raise RefConflict(f"{ref.decode()} is locked by another update") from None
    if not ok:
        raise RefConflict(f"{ref.decode()} moved while it was being updated")


def list_branches(repo: Repo) -> dict[str, bytes]:
    prefix = b"refs/heads/"
    return {
        name[len(prefix):].decode(): sha
        for name, sha in repo.get_refs().items()
        if name.startswith(prefix)
    }


def commit_tree(repo: Repo, commit_sha: bytes) -> bytes:
    commit = repo[commit_sha]
    if not isinstance(commit, Commit):
        raise ValueError(f"{commit_sha.decode()} is not a commit")
    return commit.tree


def is_ancestor(repo: Repo, ancestor: bytes, descendant: bytes) -> bool:
    """Whether ``ancestor`` is reachable from ``descendant`` (inclusive)."""
    if ancestor == descendant:
        return True
    walker = repo.get_walker(include=[descendant])
    return any(entry.commit.id == ancestor for entry in walker)


@dataclass(frozen=True)
class TreeEntry:
    path: bytes
    mode: int
    sha: bytes

    @property
    def is_submodule(self) -> bool:
        return (self.mode & 0o170000) == 0o160000  # gitlink

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.mode)


def iter_tree(repo: Repo, tree_sha: bytes, prefix: bytes = b"") -> Iterator[TreeEntry]:
    """Every non-tree entry under ``tree_sha``, depth first; holds one tree at a time."""
    tree = repo[tree_sha]
    assert isinstance(tree, Tree)
    for item in tree.iteritems():
        path = prefix + item.path if not prefix else prefix + b"/" + item.path
        if stat.S_ISDIR(item.mode):
            yield from iter_tree(repo, item.sha, path)
        else:
            yield TreeEntry(path=path, mode=item.mode, sha=item.sha)


@dataclass(frozen=True)
class TreeDiff:
    added: list[TreeEntry]
    modified: list[TreeEntry]
    deleted: list[bytes]

    @property
    def files_changed(self) -> int:
        return len(self.added) + len(self.modified)

    @property
    def empty(self) -> bool:
        return not (self.added or self.modified or self.deleted)


def diff_trees(repo: Repo, old_tree: bytes | None, new_tree: bytes | None) -> TreeDiff:
    """A real tree diff: added + modified paths, and removed paths (mode changes are modified)."""
    added: list[TreeEntry] = []
    modified: list[TreeEntry] = []
    deleted: list[bytes] = []
    for change in tree_changes(repo.object_store, old_tree, new_tree, want_unchanged=False):
        old, new = change.old, change.new
        if change.type == "add":
            added.append(TreeEntry(new.path, new.mode, new.sha))
        elif change.type == "delete":
            deleted.append(old.path)
        elif old.path == new.path:
            modified.append(TreeEntry(new.path, new.mode, new.sha))
        else:  # a type change reported as a pair
            deleted.append(old.path)
            added.append(TreeEntry(new.path, new.mode, new.sha))
    return TreeDiff(added=added, modified=modified, deleted=deleted)


def write_commit(
    repo: Repo,
    *,
    tree: bytes,
    parents: list[bytes],
    message: str,
    author: bytes = b"Coregit Sync <sync@coregit.local>",
    timestamp: int | None = None,
) -> bytes:
    """Store a commit object (no ref change) and return its sha."""
    commit = Commit()
    commit.tree = tree
    commit.parents = parents
    commit.author = commit.committer = author
    now = int(time.time()) if timestamp is None else timestamp
    commit.author_time = commit.commit_time = now
    commit.author_timezone = commit.commit_timezone = 0
    commit.encoding = b"UTF-8"
    commit.message = message.encode()
    repo.object_store.add_object(commit)
    return commit.id


def write_blob(repo: Repo, data: bytes) -> bytes:
    blob = Blob.from_string(data)
    repo.object_store.add_object(blob)
    return blob.id


def read_blob(repo: Repo, sha: bytes) -> bytes:
    obj = repo[sha]
    assert isinstance(obj, Blob)
    return obj.as_raw_string()
