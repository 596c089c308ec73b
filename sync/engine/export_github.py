"""GitHub export through the Git Data API: only what changed, text inline, one commit, no force.

Changes are computed against the remote's own recursive tree, so nothing the remote already has
(same blob sha, anywhere in the tree) is uploaded. Text goes inline in create-tree calls chained
with ``base_tree``; only binary (or very large) content becomes blobs, 20 in flight at most. All
content-creating calls are paced under GitHub's 80-a-minute secondary limit. Because git object
ids are content addresses, the final tree sha must equal the local tree id: that is checked
before anything is committed. A remote tree too large for one recursive listing is compared
directory by directory instead (``sync.engine.github_tree``).

Memory stays bounded: the plan holds paths and blob ids, not content; a tree chunk's text is read
for its own request only, blobs upload in batches under a byte budget with their bodies streamed.
Retries resume: one failed call (5xx, reset, timeout) is repeated in place, never the run; blobs,
trees and commits are content-addressed, so repeating a POST whose answer was lost is harmless,
and the ref update stays a non-forced compare-and-swap (a repeat finding our commit there is done).

Re-runs are safe: a remote head Coregit wrote itself (the empty-repository placeholder, or an
export whose result was never recorded) is built on rather than refused (``sync.engine.recovery``);
the placeholder file is removed by the same commit that brings the local tree.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dulwich.repo import Repo

from connections.providers.base import GitHubApi
from core.errors import ProviderAuthError, ProviderNotFound, ProviderRejected, RefConflict, SyncError
from repos import storage
from sync.engine import progress
from sync.engine.api_common import (
    MODE_GITLINK,
    Leaf,
    Pacer,
    chunked,
    commit_info,
    export_message,
    is_text,
    local_leaves,
    local_snapshot,
    read_blob,
    refuse_if_remote_moved,
    with_retries,
)
from sync.engine.github_tree import Changes, diff_dirs, from_leaves, local_lister, remote_lister
from sync.engine.recovery import (
    PLACEHOLDER,
    PLACEHOLDER_MESSAGE,
    CommitInfo,
    CommitReader,
    recovered_export,
)
from sync.engine.types import ExportRequest, SyncResult

__all__ = ["PLACEHOLDER", "run_export"]
LOST_RACE = ("not a fast forward", "reference does not exist", "reference already exists",
             "reference cannot be updated")
TREE_CHUNK_ENTRIES, TREE_CHUNK_BYTES = 150, 2 * 1024 * 1024
INLINE_MAX = 1024 * 1024  # larger text still goes as a blob: keeps tree calls small
BLOB_BATCH = 20
BLOB_BUDGET = 48 * 1024 * 1024  # raw bytes of one batch of blobs held while it uploads


@dataclass
class _Plan:
    entries: list[dict]  # create-tree entries, blobs not yet resolved hold "_blob"
    files_changed: int
    deleted: int


def run_export(req: ExportRequest, api: GitHubApi, *, pacer: Pacer | None = None) -> SyncResult:
    pacer = pacer or Pacer()
    remote, calls = req.remote_name, _Counter()
    with storage.open_repo(req.repo_path) as repo:
        local, local_tree = local_snapshot(repo, req.branch)
        head = calls(lambda: api.get_branch_sha(remote, req.branch), pacer, content=False)
        refuse_if_remote_moved(repo, req, head, local, _reader(api, remote, pacer, calls))
        base_tree, changes = _remote_changes(repo, api, remote, head, local_tree, pacer, calls)
        if base_tree == local_tree.decode():
            return recovered_export(repo, req, head, local, _reader(api, remote, pacer, calls)) \
                or SyncResult("skipped", head, local.decode(), message="Remote already matches",
                              requests=calls.n)
        plan = _plan(repo, changes)
        parent = head
        if head is None and _repo_is_empty(api, remote, pacer, calls):
            parent = calls(lambda: api.put_contents(
                remote, PLACEHOLDER, content=b"", branch=req.branch,
                message=PLACEHOLDER_MESSAGE), pacer).sha
        progress.phase(progress.UPLOADING, files_total=plan.files_changed)
        _upload_blobs(repo, api, remote, plan.entries, pacer, calls)
        tree = _build_tree(repo, api, remote, plan.entries, base_tree, pacer, calls)
        if tree != local_tree.decode():
            raise SyncError(f"The tree built on GitHub ({tree[:12]}) differs from the local "
                            f"tree ({local_tree.decode()[:12]}); nothing was committed")
        commit = calls(lambda: api.create_commit(
            remote, message=export_message(req, local), tree=tree,
            parents=[parent] if parent else []), pacer)
        progress.phase(progress.UPDATING_REFS)
        _move_branch(api, req, head is None and parent is None, commit.sha, pacer, calls)
    return SyncResult("success", commit.sha, local.decode(), plan.files_changed, plan.deleted,
                      message=f"Exported {local.decode()[:12]} to {req.remote_label}",
                      requests=calls.n)


class _Counter:
    """Counts provider calls (observability) and runs them through the pacer and retries."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, fn, pacer: Pacer, *, content: bool = True):
        def counted():
            self.n += 1
            return fn()
        return with_retries(pacer, counted, content=content)


def _reader(api: GitHubApi, remote: str, pacer: Pacer, calls: _Counter) -> CommitReader:
    def read(sha: str) -> CommitInfo | None:
        try:
            return commit_info(calls(lambda: api.get_commit(remote, sha), pacer, content=False))
        except ProviderNotFound:
            return None

    return read


def _remote_changes(repo: Repo, api: GitHubApi, remote: str, head: str | None, local_tree: bytes,
                    pacer: Pacer, calls: _Counter) -> tuple[str | None, Changes]:
    """(remote tree id, what to change): from one recursive listing, or tree by tree."""
    if head is None:
        return None, from_leaves(local_leaves(repo, local_tree), {})
    tree_sha = calls(lambda: api.get_commit(remote, head), pacer, content=False).tree
    if tree_sha == local_tree.decode():
        return tree_sha, Changes()
    tree = calls(lambda: api.get_tree(remote, tree_sha, recursive=True), pacer, content=False)
    if not tree.truncated:
        leaves = {e.path: Leaf(int(e.mode, 8), e.sha) for e in tree.entries if e.type != "tree"}
        return tree_sha, from_leaves(local_leaves(repo, local_tree), leaves)
    fetch = lambda sha: calls(lambda: api.get_tree(remote, sha), pacer, content=False)  # noqa: E731
    return tree_sha, diff_dirs(local_lister(repo), remote_lister(repo, fetch),
                               local_tree.decode(), tree_sha)


def _repo_is_empty(api: GitHubApi, remote: str, pacer: Pacer, calls: _Counter) -> bool:
    return calls(lambda: api.get_repo(remote), pacer, content=False).empty


def _plan(repo: Repo, changes: Changes) -> _Plan:
    entries = [_entry(repo, path, leaf, changes.known) for path, leaf in changes.written.items()]
    entries += [{"path": p, "mode": _mode(leaf.mode), "type": _kind(leaf.mode), "sha": None}
                for p, leaf in changes.removed.items()]
    deleted = sum(1 for p in changes.removed if p != PLACEHOLDER)  # ours: not the user's file
    return _Plan(entries, len(changes.written), deleted)


def _entry(repo: Repo, path: str, leaf: Leaf, known: set[str]) -> dict:
    """A create-tree entry without its content: the blob is read here once to decide inline text
    or blob (and its size), and read again only when its request is written."""
    entry = {"path": path, "mode": _mode(leaf.mode), "type": _kind(leaf.mode)}
    if leaf.mode == MODE_GITLINK or leaf.sha in known:
        return entry | {"sha": leaf.sha}  # submodule link, or content GitHub already stores
    data = read_blob(repo, leaf.sha)
    size, inline = len(data), len(data) <= INLINE_MAX and is_text(data)
    del data
    # symlinks too go inline: content = target
    return entry | {"_inline" if inline else "_blob": leaf.sha, "_size": size}


def _upload_blobs(repo: Repo, api: GitHubApi, remote: str, entries: list[dict], pacer: Pacer,
                  calls: _Counter) -> None:
    """Blobs in the seed's batches (20 in flight at most), each batch also under a byte budget,
    so at most ``BLOB_BUDGET`` bytes of content (or one larger blob) are in memory at once."""
    sizes = {e["_blob"]: e["_size"] for e in entries if "_blob" in e}
    with ThreadPoolExecutor(max_workers=BLOB_BATCH) as pool:
        for batch in chunked(list(sizes), max_items=BLOB_BATCH, max_bytes=BLOB_BUDGET,
                             size=sizes.__getitem__):
            datas = [read_blob(repo, sha) for sha in batch]  # the repo: one thread
            shas = list(pool.map(
                lambda d: calls(lambda: api.create_blob(remote, d), pacer), datas))
            del datas
            for want, got in zip(batch, shas, strict=True):
                if got != want:
                    raise SyncError(f"GitHub stored blob {got[:12]} for local blob {want[:12]}")
    for e in entries:
        if "_blob" in e:
            e["sha"] = e.pop("_blob")
            del e["_size"]


def _build_tree(repo: Repo, api: GitHubApi, remote: str, entries: list[dict],
                base_tree: str | None, pacer: Pacer, calls: _Counter) -> str:
    """Chained create-tree calls; each chunk's inline text is read only for its own request."""
    tree = base_tree
    if not entries:
        return tree or ""
    size = lambda e: e.get("_size", 0) + len(e["path"]) + 100  # noqa: E731
    for group in chunked(entries, max_items=TREE_CHUNK_ENTRIES, max_bytes=TREE_CHUNK_BYTES,
                         size=size):
        prev, body = tree, [_with_content(repo, e) for e in group]
        tree = calls(lambda g=body, b=prev: api.create_tree(remote, g, base_tree=b), pacer)
    return tree


def _with_content(repo: Repo, entry: dict) -> dict:
    if "_inline" not in entry:
        return entry
    out = {k: v for k, v in entry.items() if not k.startswith("_")}
    return out | {"content": read_blob(repo, entry["_inline"]).decode("utf-8")}


def _move_branch(api: GitHubApi, req: ExportRequest, create: bool, sha: str, pacer: Pacer,
                 calls: _Counter) -> None:
    ref = f"refs/heads/{req.branch}"
    try:
        if create:
            calls(lambda: api.create_ref(req.remote_name, ref, sha), pacer)
        else:
            calls(lambda: api.update_ref(req.remote_name, ref, sha, force=False), pacer)
    except ProviderRejected as exc:
        if _landed(api, req, sha, pacer, calls):
            return  # a repeated call whose first answer was lost: the branch is already there
        if exc.status == 422 and any(w in exc.message.lower() for w in LOST_RACE):
            raise RefConflict(
                f"The remote branch '{req.branch}' moved during export; nothing was overwritten, "
                "trigger the export again"
            ) from exc
        raise _refused(req, exc) from exc
    except ProviderAuthError as exc:
        if exc.status != 403:
            raise
        raise _refused(req, exc) from exc


def _landed(api: GitHubApi, req: ExportRequest, sha: str, pacer: Pacer, calls: _Counter) -> bool:
    return calls(lambda: api.get_branch_sha(req.remote_name, req.branch), pacer,
                 content=False) == sha


def _refused(req: ExportRequest, exc: ProviderRejected | ProviderAuthError) -> ProviderRejected:
    """A refusal that retrying cannot fix (e.g. a protected branch), with GitHub's reason."""
    return ProviderRejected(
        f"{req.remote_label} refused to move the branch '{req.branch}' (nothing was exported): "
        f"{exc.message}", status=exc.status)


def _mode(mode: int) -> str:
    return f"{mode:06o}"


def _kind(mode: int) -> str:
    return "commit" if mode == MODE_GITLINK else "blob"

