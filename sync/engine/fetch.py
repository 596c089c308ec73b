"""Fetch exactly one remote commit into a local bare repository, incrementally and on disk.

Why not ``GitClient.fetch``: it builds its haves from ``refs/heads/*`` (the local branch, whose
commits the remote never saw) and so re-downloads the whole snapshot on every import. Here the
haves come from the hidden tracking ref, the fetch is always ``depth=1`` (we only need the tip's
tree, never remote history, even after a force-push on the remote), and the pack streams to its
indexer (``sync.engine.packs``: ``git index-pack`` or dulwich's) and to disk: memory stays bounded
whatever the repo size. The shallow boundary goes to the sync area (``sync.engine.tracking``),
never to git's own ``shallow`` file.

An aborted fetch leaves no file behind: whatever fails before the pack is moved in (network,
a damaged pack, a time limit while indexing), the partial pack is removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from dulwich.object_store import ObjectStoreGraphWalker
from dulwich.objects import Commit
from dulwich.repo import ParentsProvider, Repo

from core.errors import ProviderError, RefNotFound
from repos import storage
from sync.engine import packs, progress, tracking
from sync.engine.transport import RequestsHttpGitClient, git_errors


@dataclass(frozen=True)
class Fetched:
    sha: bytes  # the remote branch tip, now present locally
    pack_bytes: int  # bytes of pack data received (0 when the commit was already here)


class _PackSpool:
    """The incoming pack, handed to its indexer as it arrives (``sync.engine.packs``: git
    index-pack, or dulwich's new pack file ``objects/pack/tmp*.pack``).

    Either completes a thin pack (one that deltas against objects we already hold) with those
    bases. Whatever was written is removed on every path that does not move it in.
    """

    def __init__(self, repo: Repo, label: str) -> None:
        self._pack = packs.new_pack(repo.object_store, repo.controldir())
        self._label = label
        self._open = True
        self.size = 0
        self.counter = progress.PackCounter()

    def write(self, data: bytes) -> int:
        with self._damage_reported():
            self._pack.write(data)
        self.size += len(data)
        self.counter.received(data)
        return len(data)

    def commit(self) -> None:
        if not self.size:
            self.close()
            return
        with self._damage_reported():
            self._pack.commit()
        self._open = False

    def close(self) -> None:
        """Drop the incoming pack unless it was moved in (idempotent; never masks an error)."""
        if self._open:
            self._open = False
            self._pack.abort()

    @contextmanager
    def _damage_reported(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            cause = _damage(exc)
            if cause is None:
                raise
            detail = str(cause) if isinstance(cause, packs.IndexPackFailed) \
                else type(cause).__name__
            raise ProviderError(
                f"{self._label} sent a damaged pack ({detail}); nothing was stored"
            ) from exc


def _damage(exc: BaseException | None) -> BaseException | None:
    """The pack error behind ``exc`` (dulwich may raise another one while closing the pack)."""
    while exc is not None:
        if isinstance(exc, packs.DAMAGED):
            return exc
        exc = exc.__context__
    return None


def _receive(repo: Repo, client: RequestsHttpGitClient, label: str, determine_wants,
             walker: ObjectStoreGraphWalker, ref: bytes, depth: int, *, lock_held: bool):
    spool = _PackSpool(repo, label)
    try:
        with git_errors(label):
            result = client.fetch_pack(b"", determine_wants, walker, spool.write, depth=depth,
                                       ref_prefix=[ref])
        # The pack and its shallow boundary land together under the repository lock: the marks
        # file is rewritten whole, so two writers could lose each other's marks. flock is per
        # open file, so a caller that holds the lock says so instead of deadlocking on it.
        with nullcontext() if lock_held else storage.repo_lock(repo.controldir()):
            if spool.size:
                progress.phase(progress.INDEXING)
            spool.commit()
            spool.counter.indexed()
            if spool.size:
                tracking.record_shallow(repo, result.new_shallow, result.new_unshallow,
                                        lock_held=True)
    finally:
        spool.close()
    return spool.size


def fetch_branch_tip(
    repo: Repo,
    client: RequestsHttpGitClient,
    branch: str,
    *,
    haves: list[bytes],
    label: str,
) -> Fetched:
    """Resolve ``branch`` on the remote to one sha (one ref listing) and fetch that commit."""
    ref = storage.branch_ref(branch)
    resolved: dict[str, bytes | None] = {}

    def determine_wants(refs: dict, depth: int | None = None) -> list[bytes]:
        sha = refs.get(ref)
        resolved["sha"] = sha
        return [] if sha is None or sha in repo.object_store else [sha]

    size = _receive(repo, client, label, determine_wants, _walker(repo, haves), ref, 1,
                    lock_held=False)
    sha = resolved.get("sha")
    if sha is None:
        raise RefNotFound(f"{label} has no branch '{branch}'")
    if not isinstance(repo.object_store[sha] if sha in repo.object_store else None, Commit):
        raise ProviderError(f"{label} did not send the commit {sha.decode()} of '{branch}'")
    return Fetched(sha=sha, pack_bytes=size)


def deepen_tip(
    repo: Repo, client: RequestsHttpGitClient, branch: str, tip: bytes, *, depth: int, label: str,
    lock_held: bool,
) -> int:
    """Fetch the ``depth`` newest commits ending at ``tip``, already here as a shallow commit (a
    ``git fetch --deepen``: only the missing ancestors travel). Returns the pack bytes received;
    nothing is fetched when the remote branch no longer points at ``tip``. ``lock_held``: the
    caller holds the repository lock (else it is taken to store the pack)."""
    ref = storage.branch_ref(branch)

    def determine_wants(refs: dict, depth: int | None = None) -> list[bytes]:
        return [tip] if refs.get(ref) == tip else []

    return _receive(repo, client, label, determine_wants, _walker(repo, [tip]), ref, depth,
                    lock_held=lock_held)


def _walker(repo: Repo, haves: list[bytes]) -> ObjectStoreGraphWalker:
    """Advertise only commits the remote knows (earlier fetched tips), with their shallow edges."""
    all_shallow = tracking.shallow_marks(repo)
    present = [h for h in dict.fromkeys(haves) if h and h in repo.object_store]
    parents = ParentsProvider(repo.object_store, shallows=all_shallow)
    # Tell the server only the shallow boundaries behind our haves: it needs no more than this
    # to avoid assuming history we never fetched (without them it would send a pack missing
    # objects that only the unfetched ancestors hold).
    shallow = _shallow_behind(present, parents, all_shallow)
    return ObjectStoreGraphWalker(present, parents.get_parents, shallow=shallow)


def _shallow_behind(
    heads: list[bytes], parents: ParentsProvider, all_shallow: set[bytes], limit: int = 10_000
) -> set[bytes]:
    found: set[bytes] = set()
    seen: set[bytes] = set()
    todo = list(heads)
    while todo and len(seen) < limit:
        sha = todo.pop()
        if sha in seen:
            continue
        seen.add(sha)
        if sha in all_shallow:
            found.add(sha)
            continue
        try:
            todo.extend(parents.get_parents(sha))
        except KeyError:
            continue
    return found
