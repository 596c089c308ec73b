"""Generic git export: push the local branch to any smart-HTTP git host, never forcing.

The local sha is read first: it is what the run records as exported. When the remote branch is an
ancestor of it the push is a plain fast-forward carrying the real history; otherwise (the remote
moved and the run is forced, or the remote tip is a commit an earlier forced export made) a new
commit with the local tree is written on top of the remote tip, so remote history is always kept.
The push names the expected old value, so a remote that moves meanwhile rejects it.

Re-running after a push whose result was never recorded is safe: the remote tip is fetched first,
and a tip Coregit itself wrote (``sync.engine.recovery``) is built on, or reported as already
there when its tree is the local tree, instead of being refused as a divergence.
"""

from __future__ import annotations

import functools

import requests
from dulwich.repo import Repo

from core.errors import NotFound, ProviderRejected, RefConflict
from repos import storage
from sync.engine import progress, tracking
from sync.engine.api_common import refuse_if_remote_moved
from sync.engine.fetch import fetch_branch_tip
from sync.engine.recovery import local_reader, recovered_export
from sync.engine.transport import RequestsHttpGitClient, git_errors, make_client
from sync.engine.types import LOCAL_TRAILER, ExportRequest, SyncResult


class _RemoteMoved(Exception):
    pass


def run_export(req: ExportRequest, session: requests.Session) -> SyncResult:
    if req.remote is None:
        raise ValueError("the generic git export needs smart-HTTP access (req.remote)")
    client = make_client(req.remote, session)
    bref = storage.branch_ref(req.branch)
    with tracking.open_repo(req.repo_path) as repo:
        local = storage.read_ref(repo, bref)  # first: this is the sha the run records as exported
        if local is None:
            raise NotFound(f"The local branch '{req.branch}' does not exist")
        with git_errors(req.remote_label):
            remote = client.get_refs(b"", ref_prefix=[bref]).refs.get(bref)
        if remote is not None and remote != local and remote not in repo.object_store:
            _fetch_remote_tip(repo, client, req, remote)  # first: recovery reads the tip here
        head = remote.decode() if remote else None
        if recovered := recovered_export(repo, req, head, local, local_reader(repo)):
            return recovered
        if remote == local:
            return SyncResult("skipped", head, local.decode(), message="Up to date")
        refuse_if_remote_moved(repo, req, head, local)
        return _push(repo, client, req, local, remote)


def _fetch_remote_tip(
    repo: Repo, client: RequestsHttpGitClient, req: ExportRequest, remote: bytes
) -> None:
    """Bring the remote tip here so the new commit can sit on it and the push sends a delta."""
    haves = [req.last_remote_sha.encode()] if req.last_remote_sha else []
    fetched = fetch_branch_tip(repo, client, req.branch, haves=haves, label=req.remote_label)
    if fetched.sha != remote:
        raise RefConflict(f"The remote branch '{req.branch}' moved during export; try again")


def _push(
    repo: Repo, client: RequestsHttpGitClient, req: ExportRequest, local: bytes,
    remote: bytes | None,
) -> SyncResult:
    local_tree = storage.commit_tree(repo, local)
    remote_tree = storage.commit_tree(repo, remote) if remote else None
    if remote is None or storage.is_ancestor(repo, remote, local):
        target = local
    elif remote_tree == local_tree:
        return SyncResult("skipped", remote.decode(), local.decode(), message="Same content")
    else:
        target = storage.write_commit(
            repo, tree=local_tree, parents=[remote], message=_message(req, local)
        )
    diff = storage.diff_trees(repo, remote_tree, local_tree)
    progress.phase(progress.UPLOADING)
    _send(repo, client, req, storage.branch_ref(req.branch), remote, target)
    return SyncResult(
        "success", target.decode(), local.decode(), diff.files_changed, len(diff.deleted),
        message=f"Exported {local.decode()[:12]} to {req.remote_label}",
    )


def _send(
    repo: Repo, client: RequestsHttpGitClient, req: ExportRequest, bref: bytes,
    expected: bytes | None, target: bytes,
) -> None:
    def update_refs(refs: dict[bytes, bytes]) -> dict[bytes, bytes]:
        if refs.get(bref) != expected:
            raise _RemoteMoved
        return {bref: target}

    pack = functools.partial(repo.object_store.generate_pack_data, shallow=repo.get_shallow())
    try:
        with git_errors(req.remote_label):
            result = client.send_pack(b"", update_refs, pack)
    except _RemoteMoved as exc:
        raise RefConflict(f"The remote branch '{req.branch}' moved during export; try again") from exc
    error = (result.ref_status or {}).get(bref)
    if error is None:
        progress.add(refs_updated=1)
        return
    if any(word in error for word in ("non-fast-forward", "fetch first", "stale", "lock")):
        raise RefConflict(f"The remote branch '{req.branch}' moved during export ({error}); try again")
    raise ProviderRejected(f"{req.remote_label} refused the push of '{req.branch}': {error}")


def _message(req: ExportRequest, local: bytes) -> str:
    sha = local.decode()
    return (
        f"Sync from Coregit branch {req.branch} at {sha[:12]}\n\n"
        f"Exported the tree of {req.branch} at {sha} on top of {req.remote_label}.\n\n"
        f"{LOCAL_TRAILER}: {sha}\n"
    )
