"""Mirror export: push every matching local ref to the remote, each with its expected old value.

The remote's refs are read first and every update names the value it replaces, so a remote ref
that moves meanwhile refuses that update (the server compares and swaps). A ref is only ever
fast-forwarded or created; a remote ref that diverged (commits we lack, a moved tag) or that is no
longer the value this config last saw (moved, rewound or deleted by someone else, even to a commit
our history holds) is refused for that ref. With force,
the remote's old tip is first fetched and kept under a local backup ref, then overwritten; with
``prune``, remote refs deleted locally are deleted remotely, backed up the same way.
"""

from __future__ import annotations

import functools

import requests
from dulwich.repo import Repo

from core.errors import ProviderRejected
from repos import storage
from sync.engine.mirror_refs import (
    MirrorRequest,
    RefOutcome,
    branch_result,
    fetch_matching,
    keep_backup,
    utc_stamp,
)
from sync.engine.refspecs import RefFilter, is_tag
from sync.engine.transport import RequestsHttpGitClient, git_errors, make_client
from sync.engine.types import SyncResult

ZERO = storage.ZERO_SHA
_RACE_WORDS = ("non-fast-forward", "fetch first", "stale", "lock", "failed to update")


def run_mirror_export(req: MirrorRequest, session: requests.Session) -> SyncResult:
    client = make_client(req.remote, session)
    wanted = RefFilter(req.branches, req.tags)
    with storage.open_repo(req.repo_path) as repo:
        local = wanted.select(repo.get_refs())  # first: these are the values the run records
        with git_errors(req.remote_label):
            remote = wanted.select(client.get_refs(b"").refs)
        names = set(local) | (set(remote) if req.prune else set())
        plan = [_plan(repo, req, ref, local.get(ref), remote.get(ref)) for ref in sorted(names)]
        received = _keep_remote_tips(repo, client, req, wanted, plan)
        _push(repo, client, req, plan)
        return branch_result(repo, req, plan, received=received, verb="Mirror export to",
                             warnings=wanted.warnings("the remote's"))


def _plan(repo: Repo, req: MirrorRequest, ref: bytes, local: bytes | None,
          remote: bytes | None) -> RefOutcome:
    """What to do with one ref (old_sha: the remote's value now; new_sha: what it should hold)."""
    name, old, new = ref.decode(), _s(remote), _s(local)
    if local == remote:
        return RefOutcome(name, old, new, "unchanged")
    seen = req.last_seen.get(name)
    if seen is not None and seen != old and not _forward_in_our_history(repo, ref, seen, remote,
                                                                          local):
        # Moved (or deleted) remotely since this config last saw it: someone else's update, even
        # one our history contains (a rewind), is refused; force overwrites it after a backup.
        if not req.force:
            return RefOutcome(name, old, new, "diverged")
        return RefOutcome(name, old, new, "deleted" if local is None else (
            "backed_up" if remote is not None else "created"))
    if local is None:
        return RefOutcome(name, old, None, "deleted")
    if remote is None:
        return RefOutcome(name, None, new, "created")
    if not is_tag(ref) and remote in repo.object_store and storage.is_ancestor(repo, remote, local):
        return RefOutcome(name, old, new, "updated")
    return RefOutcome(name, old, new, "backed_up" if req.force else "diverged")


def _forward_in_our_history(repo: Repo, ref: bytes, seen: str, remote: bytes | None,
                            local: bytes | None) -> bool:
    """The remote moved forward from what we last saw to a commit on the way to our tip: what a
    push of ours whose outcome was never recorded (a crashed run) leaves. Fast-forwarding from
    there loses nothing, so it is not treated as someone else's move."""
    if remote is None or local is None or is_tag(ref) or remote not in repo.object_store:
        return False
    last = seen.encode()
    return (last in repo.object_store and storage.is_ancestor(repo, last, remote)
            and storage.is_ancestor(repo, remote, local))


def _keep_remote_tips(repo: Repo, client: RequestsHttpGitClient, req: MirrorRequest,
                      wanted: RefFilter, plan: list[RefOutcome]) -> int:
    """Fetch every remote tip about to be overwritten or deleted, and keep it as a backup ref."""
    doomed = [o for o in plan if o.status in ("backed_up", "deleted") and o.old_sha]
    if not doomed:
        return 0
    shas = {o.old_sha.encode() for o in doomed if o.old_sha}
    seen, received = fetch_matching(repo, client, wanted, req.remote_label, only=shas)
    stamp = utc_stamp()
    with storage.repo_lock(req.repo_path):
        for outcome in doomed:
            ref, old = outcome.ref.encode(), outcome.old_sha.encode()
            if seen.get(ref) != old:
                outcome.status = "diverged"  # it moved again since we looked: leave it alone
                continue
            outcome.backup = keep_backup(repo, ref, old, stamp).decode()
    return received


def _push(repo: Repo, client: RequestsHttpGitClient, req: MirrorRequest,
          plan: list[RefOutcome]) -> None:
    moves = {o.ref.encode(): o for o in plan if o.status in ("created", "updated", "deleted",
                                                            "backed_up")}
    if not moves:
        return

    def update_refs(refs: dict[bytes, bytes]) -> dict[bytes, bytes]:
        out = {}
        for ref, outcome in moves.items():
            if refs.get(ref) != _b(outcome.old_sha):
                outcome.status = "diverged"  # moved since we read it: never overwrite that
                continue
            out[ref] = _b(outcome.new_sha) or ZERO
        return out

    pack = functools.partial(repo.object_store.generate_pack_data, shallow=repo.get_shallow())
    with git_errors(req.remote_label):
        result = client.send_pack(b"", update_refs, pack)
    for ref, error in (result.ref_status or {}).items():
        if error is None or ref not in moves:
            continue
        if not any(word in error for word in _RACE_WORDS):
            raise ProviderRejected(f"{req.remote_label} refused the push of {ref.decode()}: {error}")
        moves[ref].status = "diverged"


def _s(sha: bytes | None) -> str | None:
    return sha.decode() if sha else None


def _b(sha: str | None) -> bytes | None:
    return sha.encode() if sha else None
