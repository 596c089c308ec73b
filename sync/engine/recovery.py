"""Recognising Coregit's own work on a remote branch, so interrupted or unrecorded runs are safe.

A worker can die (or a provider fail) after some remote writes and before the database records
the result: a GitLab export that committed group 1 of 3, a GitHub export that created the
empty-repository placeholder, any export whose ref update succeeded but whose result was lost.
The re-run then sees a remote head it never recorded. Before calling that a divergence, the
remote history is walked back (at most ``WALK_LIMIT`` commits) through commits Coregit itself
made: export commits whose ``Coregit-Sync-Local-Sha`` names a commit of the local branch (so
their content came from here), and the placeholder root. If the walk reaches the recorded remote
sha (or, with nothing recorded, a root made by Coregit, a commit the local branch contains, or
one it imported), the remote holds nothing but our own work and the export can continue from it.
A single foreign commit on the way stops the walk: that is a real divergence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from repos import storage
from sync.engine.types import ExportRequest, SyncResult, local_trailer_sha, trailer_sha

WALK_LIMIT = 50
HISTORY_LIMIT = 1000
PLACEHOLDER = ".coregit-sync-placeholder"
PLACEHOLDER_MESSAGE = "Prepare empty repository for Coregit sync"


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    message: str
    parents: tuple[str, ...]
    tree: str = ""  # "" when unknown (GitLab)


CommitReader = Callable[[str], "CommitInfo | None"]  # None: the commit cannot be read


def _placeholder_tree() -> str:
    tree = Tree()
    tree.add(PLACEHOLDER.encode(), 0o100644, Blob.from_string(b"").id)
    return tree.id.decode()


PLACEHOLDER_TREE = _placeholder_tree()


def is_placeholder(info: CommitInfo) -> bool:
    """The root commit ``export_github`` writes into an empty repository (one empty file)."""
    return (not info.parents and info.message.strip() == PLACEHOLDER_MESSAGE
            and info.tree in ("", PLACEHOLDER_TREE))


def local_reader(repo: Repo) -> CommitReader:
    """Reads commits from the local object store (a fetched remote tip and what it has)."""

    def read(sha: str) -> CommitInfo | None:
        try:
            obj = repo[sha.encode()]
        except (KeyError, ValueError):
            return None
        if not isinstance(obj, Commit):
            return None
        return CommitInfo(sha, obj.message.decode("utf-8", "replace"),
                          tuple(p.decode() for p in obj.parents), obj.tree.decode())

    return read


class LocalHistory:
    """The newest commits of the local branch (read lazily, once): ids and imported remote shas."""

    def __init__(self, repo: Repo, head: bytes, limit: int = HISTORY_LIMIT) -> None:
        self.repo, self.head, self.limit = repo, head, limit
        self._ids: set[str] | None = None
        self._imported: set[str] = set()
        self._truncated = False

    def _load(self) -> set[str]:
        if self._ids is None:
            self._ids = set()
            for n, entry in enumerate(self.repo.get_walker(include=[self.head])):
                if n >= self.limit:
                    self._truncated = True
                    break
                self._ids.add(entry.commit.id.decode())
                imported = trailer_sha(entry.commit.message)
                if imported:
                    self._imported.add(imported)
        return self._ids

    def contains(self, sha: str) -> bool:
        """Whether ``sha`` is the local head or one of its ancestors."""
        if sha in self._load():
            return True
        raw = sha.encode()
        return self._truncated and raw in self.repo.object_store and storage.is_ancestor(
            self.repo, raw, self.head)

    def imported(self, remote_sha: str) -> bool:
        """Whether one of the newest local commits is the import of ``remote_sha``."""
        self._load()
        return remote_sha in self._imported


def remote_is_ours(repo: Repo, req: ExportRequest, remote_head: str, local: bytes,
                   read: CommitReader, *, bases: frozenset[str] = frozenset(),
                   limit: int = WALK_LIMIT) -> bool:
    """Whether everything on the remote branch since the last export was written by Coregit.

    ``bases`` are further commits the walk may end at (e.g. the default branch head a new
    branch was started from)."""
    history = LocalHistory(repo, local)
    sha = remote_head
    for _ in range(limit):
        if sha in bases or _is_base(req, history, sha):
            return True
        info = read(sha)
        if info is None:
            return False
        if is_placeholder(info):
            return req.last_remote_sha is None
        if not _exported_from_here(req, history, info):
            return False
        if not info.parents:
            return req.last_remote_sha is None  # our own root: the branch was made by us
        if len(info.parents) != 1:
            return False
        sha = info.parents[0]
    return False


def _is_base(req: ExportRequest, history: LocalHistory, sha: str) -> bool:
    """Where the walk may stop: the recorded sha, or content the local branch already has."""
    return sha == req.last_remote_sha or history.contains(sha) or history.imported(sha)


def _exported_from_here(req: ExportRequest, history: LocalHistory, info: CommitInfo) -> bool:
    exported = local_trailer_sha(info.message)
    if exported is None:
        return False
    return exported == req.last_local_sha or history.contains(exported)


def recovered_export(repo: Repo, req: ExportRequest, remote_head: str | None, local: bytes,
                     read: CommitReader) -> SyncResult | None:
    """The result of an export whose push landed but was never recorded (the worker died first).

    The remote head is then the local head itself (a fast-forward push) or a commit whose
    ``Coregit-Sync-Local-Sha`` names it, and the recorded state does not know it yet: that is a
    success to record, not "up to date". None when the remote head is anything else. Where the
    reader cannot tell the remote tree (GitLab), call this only once the trees are known equal."""
    sha = local.decode()
    if remote_head is None or remote_head == req.last_remote_sha or sha == req.last_local_sha:
        return None
    local_tree = storage.commit_tree(repo, local)
    if remote_head != sha:
        info = read(remote_head)
        if info is None or local_trailer_sha(info.message) != sha:
            return None
        if info.tree and info.tree != local_tree.decode():
            return None  # a partial export (GitLab group) names the local head too
    diff = storage.diff_trees(repo, _recorded_tree(repo, req), local_tree)
    return SyncResult(
        "success", remote_head, sha, diff.files_changed, len(diff.deleted),
        message=f"Exported {sha[:12]} to {req.remote_label} (recovered: the push of an "
                "unrecorded run had landed)",
    )


def _recorded_tree(repo: Repo, req: ExportRequest) -> bytes | None:
    """The tree the remote held at the last recorded export, when it is known here."""
    for sha in (req.last_local_sha, req.last_remote_sha):
        if sha and sha.encode() in repo.object_store:
            obj = repo[sha.encode()]
            if isinstance(obj, Commit):
                return obj.tree
    return None
