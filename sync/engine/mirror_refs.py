"""What mirror import and export share: the request, per-ref outcomes, backup refs, the fetch.

Backup refs keep every tip a mirror run moves away from (``refs/coregit/backup/<ref>/<utc>``):
nothing a forced run or a prune replaces is ever lost, and the API can list and restore them.
The fetch brings the full history of every wanted tip (never shallow): mirrors keep the remote's
own commits, and a commit whose parents are missing could not be served to clients.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dulwich.object_store import ObjectStoreGraphWalker
from dulwich.objects import Commit, Tag
from dulwich.repo import ParentsProvider, Repo

from core.errors import Diverged, ProviderError, RefConflict
from repos import storage
from sync.engine import packs
from sync.engine.refspecs import RefFilter
from sync.engine.transport import RequestsHttpGitClient, git_errors
from sync.engine.types import GitRemote, SyncResult

BACKUP_PREFIX = b"refs/coregit/backup/"
HIDDEN_SYNC = b"refs/sync/"  # snapshot tracking refs: fetched depth 1, so never used as haves


@dataclass(frozen=True)
class MirrorRequest:
    repo_path: Path | str
    remote: GitRemote
    branch: str  # the config's branch: the run's remote_sha/commit_sha/files_changed are for it
    branches: list[str]
    tags: bool = False
    prune: bool = False
    force: bool = False
    remote_label: str = "remote"
    last_seen: dict[str, str] = field(default_factory=dict)  # ref -> remote sha last synced


@dataclass
class RefOutcome:
    ref: str
    old_sha: str | None
    new_sha: str | None
    status: str  # created, updated, deleted, unchanged, diverged, backed_up
    backup: str | None = None  # the backup ref keeping old_sha, when one was made

    def as_dict(self) -> dict:
        body = asdict(self)
        if body["backup"] is None:
            del body["backup"]
        return body


CHANGED = ("created", "updated", "deleted", "backed_up")


class RefsDiverged(Diverged):
    """Some refs were refused (the others were updated); ``refs`` lists every outcome."""

    def __init__(self, message: str, refs: list[dict], warnings: list[str] | None = None) -> None:
        super().__init__(message)
        self.refs = refs
        self.warnings = warnings or []


def utc_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def backup_name(ref: bytes, stamp: str) -> bytes:
    return BACKUP_PREFIX + ref + b"/" + stamp.encode()


def keep_backup(repo: Repo, ref: bytes, sha: bytes, stamp: str) -> bytes:
    """Create a new backup ref holding ``sha`` (never overwriting an existing backup)."""
    name = backup_name(ref, stamp)
    n = 0
    while storage.read_ref(repo, name) is not None:
        n += 1
        name = backup_name(ref, f"{stamp}.{n}")
    storage.cas_ref(repo, name, None, sha, message=b"coregit-sync: backup of " + ref)
    return name


def delete_ref(repo: Repo, ref: bytes, old: bytes) -> None:
    """Delete ``ref`` if it still holds ``old`` (compare-and-swap), or raise RefConflict."""
    if not repo.refs.remove_if_equals(ref, old, message=b"coregit-sync: prune"):
        raise RefConflict(f"{ref.decode()} moved while it was being deleted")


def peel(repo: Repo, sha: bytes) -> bytes | None:
    """The commit a ref value names (through annotated tags), or None."""
    obj = repo.object_store[sha] if sha in repo.object_store else None
    while isinstance(obj, Tag):
        target = obj.object[1]
        obj = repo.object_store[target] if target in repo.object_store else None
    return obj.id if isinstance(obj, Commit) else None


def local_haves(repo: Repo) -> list[bytes]:
    """Commits of every complete local ref (branches, tags, backups) for the fetch negotiation."""
    heads = []
    for ref, sha in repo.get_refs().items():
        if ref.startswith(HIDDEN_SYNC) or ref == b"HEAD" or not sha:
            continue
        if (commit := peel(repo, sha)) is not None:
            heads.append(commit)
    return list(dict.fromkeys(heads))


def fetch_matching(
    repo: Repo, client: RequestsHttpGitClient, wanted: RefFilter, label: str,
    *, only: set[bytes] | None = None,
) -> tuple[dict[bytes, bytes], int]:
    """Fetch (full history) every remote ref ``wanted`` matches whose object is missing here.

    ``only``: fetch just these shas (still listing every matching ref). Returns the matching
    remote refs and the pack bytes received.
    """
    seen: dict[bytes, bytes] = {}

    def determine_wants(refs: dict, depth: int | None = None) -> list[bytes]:
        seen.update(wanted.select(refs))
        shas = set(seen.values()) if only is None else set(only) & set(seen.values())
        return sorted(s for s in shas if s not in repo.object_store)

    store = repo.object_store
    haves = local_haves(repo)
    walker = ObjectStoreGraphWalker(haves, ParentsProvider(store).get_parents)
    with _pack_sink(repo) as sink:
        with git_errors(label):
            client.fetch_pack(b"", determine_wants, walker, sink.write)
        size = sink.size
    missing = [ref for ref, sha in seen.items()
               if (only is None or sha in only) and sha not in store]
    if missing:
        raise ProviderError(f"{label} did not send the objects of {missing[0].decode()}")
    return seen, size


class _PackSink:
    def __init__(self, repo: Repo) -> None:
        self.pack = packs.new_pack(repo.object_store, repo.controldir())
        self.size = 0

    def write(self, data: bytes) -> None:
        self.pack.write(data)
        self.size += len(data)


@contextmanager
def _pack_sink(repo: Repo) -> Iterator[_PackSink]:
    """Where the incoming pack goes: to its indexer as it arrives (``sync.engine.packs``), which
    completes a thin pack (deltas against objects we hold, when there were haves). The partial
    pack is removed unless the whole pack was stored."""
    sink = _PackSink(repo)
    stored = False
    try:
        yield sink
        if sink.size:
            sink.pack.commit()
            stored = True
    finally:
        if not stored:
            sink.pack.abort()


def branch_result(repo: Repo, req: MirrorRequest, outcomes: list[RefOutcome], *,
                  received: int, verb: str, warnings: list[str] | None = None) -> SyncResult:
    """The seed's fields for the config's branch plus the per-ref list; refused refs raise.
    ``warnings``: what the run could not represent exactly (kept on the error too)."""
    refs = [o.as_dict() for o in outcomes]
    diverged = [o.ref for o in outcomes if o.status == "diverged"]
    if diverged:
        raise RefsDiverged(
            f"{verb} refused for {len(diverged)} diverged ref(s): {', '.join(diverged)} "
            '(the other refs were updated). Trigger with "force": true or set '
            '"overwrite_diverged": true to overwrite them after keeping a backup ref.', refs,
            warnings)
    mine = next((o for o in outcomes if o.ref == storage.branch_ref(req.branch).decode()), None)
    changed = any(o.status in CHANGED for o in outcomes)
    files = deleted = 0
    if mine is not None and mine.status in CHANGED:
        diff = storage.diff_trees(repo, _tree(repo, mine.old_sha), _tree(repo, mine.new_sha))
        files, deleted = diff.files_changed, len(diff.deleted)
    sha = mine.new_sha if mine else None
    counts = {s: sum(o.status == s for o in outcomes) for s in dict.fromkeys(
        o.status for o in outcomes)}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no matching refs"
    return SyncResult("success" if changed else "skipped", sha, sha, files, deleted,
                      message=f"{verb} {req.remote_label}: {summary}", bytes_received=received,
                      refs=refs, warnings=list(warnings or []))


def _tree(repo: Repo, sha: str | None) -> bytes | None:
    commit = peel(repo, sha.encode()) if sha else None
    return storage.commit_tree(repo, commit) if commit else None
