"""Import: make the local branch's tree exactly the remote branch's tree, in one new commit.

The remote tip is fetched (incrementally, depth 1) and kept under a hidden tracking ref; the local
commit reuses the remote commit's tree object, so modes, symlinks, submodule links, binary and
empty files and non-ASCII paths are preserved by construction. Refs move only by compare-and-swap
under the repository lock, so a ``git push`` racing the import is never lost.

Switching a config from export to import resets its state, so the first import finds a local
branch with content it never imported. That is no divergence when the remote already holds the
local head: the fetched tip (or one of its ``REMOTE_WALK`` newest ancestors, fetched on demand) is
the local head itself or an export of it (its ``Coregit-Sync-Local-Sha`` names the local head).
"""

from __future__ import annotations

from collections.abc import Callable

import requests
from dulwich.objects import Commit
from dulwich.repo import Repo

from core.errors import Diverged, RefConflict
from repos import storage
from sync.engine import packs, progress, tracking
from sync.engine.fetch import deepen_tip, fetch_branch_tip
from sync.engine.transport import make_client
from sync.engine.types import (
    ImportRequest,
    SyncResult,
    local_trailer_sha,
    sync_trailer,
    trailer_sha,
)

EMPTY_TREE = b"4b825dc642cb6eb9a060e54bf8d69288fbee4904"
REMOTE_WALK = 50


def run_import(req: ImportRequest, session: requests.Session) -> SyncResult:
    client = make_client(req.remote, session)
    progress.phase(progress.RESOLVING)
    with tracking.open_repo(req.repo_path) as repo:
        tracked = tracking.read_ref(repo, req.tracking_ref)
        haves = [tracked, _b(req.last_remote_sha)]
        fetched = fetch_branch_tip(
            repo, client, req.branch, haves=[h for h in haves if h], label=req.remote_label
        )
        deepened: list[int] = []

        def deepen() -> None:
            deepened.append(deepen_tip(repo, client, req.branch, fetched.sha,  # under our lock
                                       depth=REMOTE_WALK, label=req.remote_label, lock_held=True))

        progress.phase(progress.WRITING)
        with storage.repo_lock(req.repo_path):
            _move_tracking_ref(repo, req.tracking_ref, fetched.sha)
            result = _apply(repo, req, fetched.sha, deepen)
    result.bytes_received = fetched.pack_bytes + sum(deepened)
    return result


def _move_tracking_ref(repo: Repo, ref: bytes, sha: bytes) -> None:
    current = tracking.read_ref(repo, ref)
    if current != sha:
        tracking.cas_ref(repo, ref, current, sha)


def _apply(repo: Repo, req: ImportRequest, remote_sha: bytes, deepen: Callable[[], None]
           ) -> SyncResult:
    remote_tree = storage.commit_tree(repo, remote_sha)
    bref = storage.branch_ref(req.branch)
    head = storage.read_ref(repo, bref)
    head_commit = _commit(repo, head)
    rsha = remote_sha.decode()

    if head_commit and _is_import_of(head_commit, rsha, remote_tree):
        # Already written by an earlier run of this import (possibly one that crashed before the
        # database recorded it): report it, never write a second commit.
        return _already_imported(repo, req, head_commit, rsha)

    head_tree = head_commit.tree if head_commit else None
    if head_tree == remote_tree:
        return SyncResult("skipped", rsha, _s(head), message="Local branch already matches remote")
    if not req.force and not _written_by_unrecorded_import(repo, head_commit, req) \
            and not _remote_holds_local(repo, req, remote_sha, head, deepen):
        _refuse_if_diverged(req, head_commit)

    files_changed, deleted = _counts(repo, head_tree, remote_tree)
    new = storage.write_commit(
        repo, tree=remote_tree, parents=[head] if head else [], message=_message(req, rsha)
    )
    progress.phase(progress.UPDATING_REFS)
    try:
        storage.cas_ref(repo, bref, head, new, message=b"coregit-sync: import " + remote_sha)
    except RefConflict as exc:
        raise RefConflict(
            f"The branch '{req.branch}' moved during import (a push landed meanwhile); nothing was "
            "overwritten. Trigger the import again to bring the remote changes on top."
        ) from exc
    progress.add(refs_updated=1)
    return SyncResult(
        "success", rsha, new.decode(), files_changed, deleted,
        message=f"Imported {req.remote_label} at {rsha[:12]}",
    )


def _counts(repo: Repo, head_tree: bytes | None, remote_tree: bytes) -> tuple[int, int]:
    """Files changed and deleted. Onto nothing, every file of the remote tree is new: git counts
    them (a Python walk of every tree object was ~30 % of a first import), dulwich without git."""
    if head_tree in (None, EMPTY_TREE):
        files = packs.count_files(repo.controldir(), remote_tree)
        if files is not None:
            return files, 0
    diff = storage.diff_trees(repo, head_tree, remote_tree)
    return diff.files_changed, len(diff.deleted)


def _refuse_if_diverged(req: ImportRequest, head: Commit | None) -> None:
    if head is None:
        return  # nothing local to lose
    if req.last_local_sha is not None:
        if head.id.decode() == req.last_local_sha:
            return
        what = (
            f"the local branch '{req.branch}' has commits the last import did not write "
            f"(head {head.id.decode()[:12]}, last import {req.last_local_sha[:12]})"
        )
    else:
        if head.tree == EMPTY_TREE:
            return
        what = f"the local branch '{req.branch}' already has content and was never imported into"
    raise Diverged(
        f"Import refused: {what}; importing would replace that content. Trigger with "
        '"force": true or set "overwrite_diverged": true on the sync config to import anyway '
        "(the import is added as a new commit on top, history is kept)."
    )


def _remote_holds_local(repo: Repo, req: ImportRequest, remote_sha: bytes, head: bytes | None,
                        deepen: Callable[[], None]) -> bool:
    """With nothing recorded, whether the remote history already contains the local head (it was
    exported there): importing on top of it then loses nothing."""
    if req.last_local_sha is not None or head is None:
        return False
    if _holds(repo, remote_sha, head, 1):
        return True
    deepen()
    return _holds(repo, remote_sha, head, REMOTE_WALK)


def _holds(repo: Repo, tip: bytes, head: bytes, limit: int) -> bool:
    for entry in repo.get_walker(include=[tip], max_entries=limit):
        commit = entry.commit
        if commit.id == head or local_trailer_sha(commit.message) == head.decode():
            return True
    return False


def _written_by_unrecorded_import(repo: Repo, head: Commit | None, req: ImportRequest) -> bool:
    """Our own commit, from a run whose result was not saved: holding exactly the remote tree its
    trailer names and, when an import was recorded, right on top of it. A copied trailer (a
    cherry-pick, ``git commit -C``) with other content is the user's commit, not ours."""
    imported = trailer_sha(head.message) if head is not None else None
    if imported is None:
        return False
    if req.last_local_sha is not None and \
            [p.decode() for p in head.parents] != [req.last_local_sha]:
        return False
    try:
        remote = _commit(repo, imported.encode())
    except (KeyError, ValueError):  # pruned, or not a sha at all
        return False
    return remote is not None and remote.tree == head.tree


def _is_import_of(commit: Commit, remote_sha: str, remote_tree: bytes) -> bool:
    return commit.tree == remote_tree and trailer_sha(commit.message) == remote_sha


def _already_imported(repo: Repo, req: ImportRequest, head: Commit, rsha: str) -> SyncResult:
    sha = head.id.decode()
    if sha == req.last_local_sha:
        return SyncResult("skipped", rsha, sha, message="Already imported")
    parent_tree = storage.commit_tree(repo, head.parents[0]) if head.parents else None
    diff = storage.diff_trees(repo, parent_tree, head.tree)
    return SyncResult(
        "success", rsha, sha, diff.files_changed, len(diff.deleted),
        message=f"Imported {req.remote_label} at {rsha[:12]} (recovered an unrecorded run)",
    )


def _message(req: ImportRequest, rsha: str) -> str:
    return (
        f"Sync from {req.remote_label} at {rsha[:12]}\n\n"
        f"Imported branch {req.branch} of {req.remote_label} at commit {rsha}.\n\n"
        f"{sync_trailer(rsha)}\n"
    )


def _commit(repo: Repo, sha: bytes | None) -> Commit | None:
    if sha is None:
        return None
    obj = repo[sha]
    return obj if isinstance(obj, Commit) else None


def _b(value: str | None) -> bytes | None:
    return value.encode() if value else None


def _s(value: bytes | None) -> str | None:
    return value.decode() if value else None
