"""Mirror import: every matching remote ref, with the remote's own commits (same shas).

One incremental fetch brings what is missing (haves: the local refs). Then, under the repository
lock, each local ref moves by compare-and-swap to exactly the remote sha: created, fast-forwarded,
or left alone when it diverged (local commits the remote lacks, or a tag that moved). A forced run
moves a diverged ref only after keeping its old tip under a backup ref; ``prune`` deletes refs
that vanished remotely, backing each up the same way.
"""

from __future__ import annotations

import requests
from dulwich.repo import Repo

from repos import storage
from sync.engine.mirror_refs import (
    MirrorRequest,
    RefOutcome,
    branch_result,
    delete_ref,
    fetch_matching,
    keep_backup,
    utc_stamp,
)
from sync.engine.refspecs import RefFilter, is_tag
from sync.engine.transport import make_client
from sync.engine.types import SyncResult


def run_mirror_import(req: MirrorRequest, session: requests.Session) -> SyncResult:
    client = make_client(req.remote, session)
    wanted = RefFilter(req.branches, req.tags)
    stamp = utc_stamp()
    with storage.open_repo(req.repo_path) as repo:
        remote, received = fetch_matching(repo, client, wanted, req.remote_label)
        with storage.repo_lock(req.repo_path):
            local = wanted.select(repo.get_refs())
            names = set(remote) | (set(local) if req.prune else set())
            outcomes = [_apply(repo, req, ref, local.get(ref), remote.get(ref), stamp)
                        for ref in sorted(names)]
        return branch_result(repo, req, outcomes, received=received, verb="Mirror import from",
                             warnings=wanted.warnings("the remote's"))


def _apply(repo: Repo, req: MirrorRequest, ref: bytes, local: bytes | None,
           remote: bytes | None, stamp: str) -> RefOutcome:
    name, old, new = ref.decode(), _s(local), _s(remote)
    if remote is None:  # vanished remotely, and pruning
        assert local is not None
        backup = keep_backup(repo, ref, local, stamp)
        delete_ref(repo, ref, local)
        return RefOutcome(name, old, None, "deleted", backup.decode())
    if local is None:
        storage.cas_ref(repo, ref, None, remote, message=b"coregit-sync: mirror create")
        return RefOutcome(name, None, new, "created")
    if local == remote:
        return RefOutcome(name, old, new, "unchanged")
    if not is_tag(ref) and storage.is_ancestor(repo, local, remote):
        storage.cas_ref(repo, ref, local, remote, message=b"coregit-sync: mirror fast-forward")
        return RefOutcome(name, old, new, "updated")
    if not req.force:
        return RefOutcome(name, old, new, "diverged")
    backup = keep_backup(repo, ref, local, stamp)
    storage.cas_ref(repo, ref, local, remote, message=b"coregit-sync: mirror forced update")
    return RefOutcome(name, old, new, "backed_up", backup.decode())


def _s(sha: bytes | None) -> str | None:
    return sha.decode() if sha else None
