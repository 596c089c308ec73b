"""Fetch exactly one remote commit into a local bare repository, incrementally and on disk.

Why not ``GitClient.fetch``: it builds its haves from ``refs/heads/*`` (the local branch, whose
commits the remote never saw) and so re-downloads the whole snapshot on every import. Here the
haves come from the hidden tracking ref, the fetch is always ``depth=1`` (we only need the tip's
tree, never remote history, even after a force-push on the remote), and the pack is spooled to a
file inside the object store and indexed from there: memory stays bounded whatever the repo size.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from dulwich.object_store import ObjectStoreGraphWalker
from dulwich.objects import Commit
from dulwich.repo import ParentsProvider, Repo

from core.errors import ProviderError, RefNotFound
from repos import storage
from sync.engine.transport import RequestsHttpGitClient, git_errors

_SPOOL_IN_MEMORY = 1 << 20  # small incremental packs never touch the disk twice


@dataclass(frozen=True)
class Fetched:
    sha: bytes  # the remote branch tip, now present locally
    pack_bytes: int  # bytes of pack data received (0 when the commit was already here)


class _PackSpool:
    """Collects the incoming pack and hands it to dulwich's streaming indexer.

    A thin pack (we sent haves) deltas against objects we already hold, so it is spooled and then
    completed by ``add_thin_pack``. A pack fetched with no haves is self-contained: it is written
    straight into a new pack file and indexed once (``add_pack``), skipping a full copy and a
    second decompression pass over every object.
    """

    def __init__(self, repo: Repo, *, thin: bool) -> None:
        self._repo = repo
        self.size = 0
        self._done = False
        if thin:
            self._file = tempfile.SpooledTemporaryFile(
                max_size=_SPOOL_IN_MEMORY, prefix="incoming-", dir=repo.object_store.path
            )
            self._finish, self._abort = self._add_thin, self._file.close
        else:
            self._file, self._finish, self._abort = repo.object_store.add_pack()

    def write(self, data: bytes) -> int:
        self._file.write(data)
        self.size += len(data)
        return len(data)

    def _add_thin(self) -> None:
        self._file.seek(0)
        self._repo.object_store.add_thin_pack(self._file.read, None)
        self._file.close()

    def commit(self) -> None:
        self._done = True
        if self.size:
            self._finish()
        else:
            self._abort()

    def close(self) -> None:
        if not self._done:
            self._abort()


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

    walker = _walker(repo, haves)
    spool = _PackSpool(repo, thin=bool(walker.heads))
    try:
        with git_errors(label):
            result = client.fetch_pack(
                b"", determine_wants, walker, spool.write, depth=1, ref_prefix=[ref]
            )
        spool.commit()
    finally:
        spool.close()
    sha = resolved.get("sha")
    if sha is None:
        raise RefNotFound(f"{label} has no branch '{branch}'")
    if spool.size:
        repo.update_shallow(result.new_shallow, result.new_unshallow)
    if not isinstance(repo.object_store[sha] if sha in repo.object_store else None, Commit):
        raise ProviderError(f"{label} did not send the commit {sha.decode()} of '{branch}'")
    return Fetched(sha=sha, pack_bytes=spool.size)


def deepen_tip(
    repo: Repo, client: RequestsHttpGitClient, branch: str, tip: bytes, *, depth: int, label: str
) -> int:
    """Fetch the ``depth`` newest commits ending at ``tip``, already here as a shallow commit (a
    ``git fetch --deepen``: only the missing ancestors travel). Returns the pack bytes received;
    nothing is fetched when the remote branch no longer points at ``tip``."""
    ref = storage.branch_ref(branch)

    def determine_wants(refs: dict, depth: int | None = None) -> list[bytes]:
        return [tip] if refs.get(ref) == tip else []

    spool = _PackSpool(repo, thin=True)
    try:
        with git_errors(label):
            result = client.fetch_pack(b"", determine_wants, _walker(repo, [tip]), spool.write,
                                       depth=depth, ref_prefix=[ref])
        spool.commit()
    finally:
        spool.close()
    if spool.size:
        repo.update_shallow(result.new_shallow, result.new_unshallow)
    return spool.size


def _walker(repo: Repo, haves: list[bytes]) -> ObjectStoreGraphWalker:
    """Advertise only commits the remote knows (earlier fetched tips), with their shallow edges."""
    all_shallow = repo.get_shallow()
    present = [h for h in dict.fromkeys(haves) if h and h in repo.object_store]
    parents = ParentsProvider(repo.object_store, shallows=all_shallow)
    # Tell the server only the shallow boundaries behind our haves: the file gains a line per
    # import, and the server needs no more than this to avoid assuming history we never fetched.
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
