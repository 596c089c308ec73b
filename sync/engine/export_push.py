"""Snapshot export to GitHub or GitLab over git smart HTTP: one commit on the remote tip, pushed.

Used instead of the provider's API when a change is large (``sync.engine.exactness``) or holds
what GitLab's commits API cannot write (symlinks, submodule links). The result has the same shape
as an API export: one new commit whose tree is the local tree, whose parent is the remote tip,
with the same message and ``Coregit-Sync-Local-Sha`` trailer. The push names the tip it saw as
the expected old value and is never forced: a remote that moved meanwhile refuses it, the run
fails with ``RefConflict`` and nothing is overwritten.

A branch missing on the remote gets a root commit, as GitHub's API path does (GitLab's API path
starts it from the default branch, which a ref advertisement does not name).

Requests: one receive-pack ref advertisement and one receive-pack POST. Every decision (refuse,
recover, skip, what to send) is made between the two, from the advertised tip; only a tip this
export did not record is fetched first (depth 1), to check it is Coregit's own work.

What is sent: the new commit and the trees and blobs of the local tree that the remote's tree
does not hold. The remote's tree is the tree of the last exported local commit when the tip is
the one the last export recorded (an export makes the remote tree equal the local one), or the
fetched tip's tree. The pack streams while it is built: one object is in memory at a time, and
the mapped pack pages it reads are handed back every 32 MB (``api_common.read_blob``'s rule).
"""

from __future__ import annotations

import binascii
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from dulwich.objects import Commit, Tree
from dulwich.pack import UnpackedObject
from dulwich.repo import Repo

from core.errors import ProviderRejected, RefConflict
from repos import storage
from sync.engine import progress as progress_report
from sync.engine import tracking
from sync.engine.api_common import (
    MODE_GITLINK,
    RELEASE_EVERY,
    export_message,
    local_snapshot,
    refuse_if_remote_moved,
    release_pack_pages,
)
from sync.engine.fetch import fetch_branch_tip
from sync.engine.push_pack import dulwich_pack, git_pack, send_raw_pack
from sync.engine.recovery import local_reader, recovered_export
from sync.engine.transport import RequestsHttpGitClient, git_errors, make_client
from sync.engine.types import ExportRequest, SyncResult

COMPRESSION = 1  # zlib level of dulwich's pack: the link, not the ratio, is what a push waits on
GIT = shutil.which("git")
RELEASE_OBJECTS = 256
REFUSED_WORDS = ("non-fast-forward", "fetch first", "stale", "lock", "failed to update")


@dataclass
class _Decision:
    """What the push does, decided from the advertised remote tip."""

    head: bytes | None = None  # the remote tip the push expects
    target: bytes | None = None  # the commit pushed (None: nothing to push)
    base_tree: bytes | None = None  # a tree the remote is known to hold
    done: SyncResult | None = None  # skipped or recovered: the run's result without a push


def run_export(req: ExportRequest, session: requests.Session, *,
               git: str | None = GIT) -> SyncResult:
    """``git``: the git binary that writes the pack (None: dulwich writes it)."""
    if req.remote is None:
        raise ValueError("the push export needs smart-HTTP access (req.remote)")
    client = make_client(req.remote, session)
    bref = storage.branch_ref(req.branch)
    with tracking.open_repo(req.repo_path) as repo:
        local, local_tree = local_snapshot(repo, req.branch)
        decision = _Decision()

        def update_refs(refs: dict[bytes, bytes]) -> dict[bytes, bytes] | None:
            _decide(repo, client, req, local, local_tree, refs.get(bref), decision)
            return None if decision.target is None else {bref: decision.target}

        counts = _Counts(req.repo_path)

        def pack() -> Iterator[bytes]:
            progress_report.phase(progress_report.UPLOADING)
            counts.start(decision.base_tree, local_tree)  # while the pack is on the wire
            return _pack(repo, git, decision.target, local_tree, decision.base_tree)

        try:
            with git_errors(req.remote_label):
                status = send_raw_pack(client, update_refs, pack)
            if decision.done is not None:
                return decision.done
            _check_status(req, bref, status or {})
            changed, deleted = counts.result()
        finally:
            counts.close()
        assert decision.target is not None
    return SyncResult("success", decision.target.decode(), local.decode(), changed, deleted,
                      message=f"Exported {local.decode()[:12]} to {req.remote_label} (git push)",
                      requests=client.requests_made)


class _Counts:
    """Files changed and deleted, counted in a thread while the upload runs (a 100,000-file
    tree diff takes seconds of Python; the upload waits on the network)."""

    def __init__(self, repo_path) -> None:
        self._path = repo_path
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._future = None

    def start(self, base: bytes | None, tree: bytes) -> None:
        self._future = self._pool.submit(self._count, base, tree)

    def _count(self, base: bytes | None, tree: bytes) -> tuple[int, int]:
        with storage.open_repo(self._path) as repo:  # its own handle: dulwich is not shared
            diff = storage.diff_trees(repo, base, tree)
        return diff.files_changed, len(diff.deleted)

    def result(self) -> tuple[int, int]:
        assert self._future is not None
        return self._future.result()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def _decide(repo: Repo, client: RequestsHttpGitClient, req: ExportRequest, local: bytes,
            local_tree: bytes, tip: bytes | None, out: _Decision) -> None:
    head = tip.decode() if tip else None
    out.head = tip
    if tip is not None and head == req.last_remote_sha and req.last_local_sha:
        out.base_tree = _tree_of(repo, req.last_local_sha.encode())
    elif tip is not None:
        if tip not in repo.object_store:
            haves = [req.last_local_sha.encode()] if req.last_local_sha else []
            fetched = fetch_branch_tip(repo, client, req.branch, haves=haves,
                                       label=req.remote_label).sha
            if fetched != tip:
                raise RefConflict(f"The remote branch '{req.branch}' moved during export; "
                                  "nothing was overwritten, run it again")
        if recovered := recovered_export(repo, req, head, local, local_reader(repo)):
            out.done = recovered
            return
        refuse_if_remote_moved(repo, req, head, local)
        out.base_tree = storage.commit_tree(repo, tip)
    if tip is not None and out.base_tree == local_tree:
        out.done = SyncResult("skipped", head, local.decode(), message="Remote already matches")
        return
    out.target = storage.write_commit(repo, tree=local_tree, parents=[tip] if tip else [],
                                      message=export_message(req, local))


def _tree_of(repo: Repo, commit: bytes) -> bytes | None:
    return storage.commit_tree(repo, commit) if commit in repo.object_store else None


def _pack(repo: Repo, git: str | None, commit: bytes | None, tree: bytes, base: bytes | None
          ) -> Iterator[bytes]:
    assert commit is not None
    obj = repo.object_store[commit]
    assert isinstance(obj, Commit)
    if git:
        return git_pack(git, repo.path, obj, tree, base)
    ids = [commit, *_missing(repo, tree, base)]
    return dulwich_pack(_records(repo, ids), len(ids), COMPRESSION)


def _missing(repo: Repo, tree: bytes, base: bytes | None) -> list[bytes]:
    """Trees and blobs of ``tree`` not in ``base`` (subtrees both hold are not descended)."""
    return _walk(repo, tree, set(_walk(repo, base, set())) if base else set())


def _walk(repo: Repo, tree: bytes, have: set[bytes]) -> list[bytes]:
    """Trees and blobs under ``tree`` that ``have`` lacks, each once (``have`` grows); submodule
    links are skipped: they name commits of another repository."""
    out: list[bytes] = []
    stack = [tree]
    while stack:
        sha = stack.pop()
        if sha in have:
            continue
        have.add(sha)
        out.append(sha)
        obj = repo.object_store[sha]
        assert isinstance(obj, Tree)
        for item in obj.iteritems():
            if item.mode == MODE_GITLINK or item.sha in have:
                continue
            if item.mode & 0o170000 == 0o040000:
                stack.append(item.sha)
            else:
                have.add(item.sha)
                out.append(item.sha)
    return out


def _records(repo: Repo, ids: list[bytes]) -> Iterator[UnpackedObject]:
    """One object at a time. The mapped pack pages read are handed back every ``RELEASE_EVERY``
    bytes or ``RELEASE_OBJECTS`` objects (``api_common.release_pack_pages``): objects are read
    in tree order, scattered through the pack, and each read faults in the pages around it, so
    30,000 small objects (300 MB) left 500 MB resident before the count was added."""
    read = objects = 0
    for sha in ids:
        type_num, raw = repo.object_store.get_raw(sha)
        read, objects = read + len(raw), objects + 1
        yield UnpackedObject(type_num, sha=binascii.unhexlify(sha), decomp_chunks=[raw],
                             decomp_len=len(raw))
        del raw
        if read >= RELEASE_EVERY or objects >= RELEASE_OBJECTS:
            release_pack_pages(repo)
            read = objects = 0


def _check_status(req: ExportRequest, bref: bytes, status: dict) -> None:
    error = status.get(bref)
    if error is None:
        progress_report.add(refs_updated=1)
        return
    if any(word in error for word in REFUSED_WORDS):
        raise RefConflict(f"The remote branch '{req.branch}' moved during export ({error}); "
                          "nothing was overwritten, run it again")
    raise ProviderRejected(f"{req.remote_label} refused the push of '{req.branch}': {error}")
