"""GitLab export through the commits API: file actions in groups of at most 500 (and ~20 MB).

Decision on what the commits API cannot express — symlinks and submodule links (it only writes
regular files, with or without the exec bit): a local change touching one never comes here
(``sync.engine.exactness`` sends it over git), and a link found only on the remote side raises
``NeedsGitPush`` before anything is written, so the caller pushes over git instead. Only when no
git fallback is offered (``ExportRequest.git_fallback``) are those paths left exactly as they are
on the remote, each one named in ``SyncResult.warnings`` and in the message. The run still
succeeds, because everything else is exported and nothing on either side is lost or rewritten; an
error would block every later export of a repository that merely contains a symlink. Callers that
want strictness can treat non-empty ``warnings`` as a failure.

GitLab's ``start_sha`` only seeds a *new* branch (on an existing one it needs ``force``, which
would rewrite the ref), so the first group uses it only when the branch does not exist yet; every
later group must land on the previous group's commit, which is verified from ``parent_ids``.

Racing a remote push: the commits API has no "expected parent" (GitLab applies the actions to
whatever the branch head is when the request arrives). So the branch head is re-read immediately
before every ``create_commit`` and the run stops with ``RefConflict`` when it is not what the
previous step produced (the recorded head, or our previous group). A push landing in the small
window between that read and GitLab applying the commit is still not prevented: the commit then
sits on top of the foreign one (detected afterwards from ``parent_ids``, the run fails with
``RefConflict``), and files our actions update replace the pushed versions in the new head; the
pushed commit itself stays in the branch history, nothing is rewritten or removed from it.

Memory stays bounded: actions carry no content, only where to read it; each group's request body
is written while it is sent, one file at a time (``connections.providers.streaming``).

Retries resume: a 5xx, reset or timeout is retried in place for that one group (bounded, backoff
with jitter); groups already committed are not sent again, and before each attempt the head is
re-read, so a commit whose answer was lost is found (our message on the expected parent) instead
of being made twice.

Re-runs are safe: group commits (and whole exports) an interrupted or unrecorded run already made
are recognised by their ``Coregit-Sync-Local-Sha`` trailer (``sync.engine.recovery``), and the
export continues from them, sending only what is still missing. A missing branch whose content
would equal its start point is created at that point (no empty commit).
"""

from __future__ import annotations

from dulwich.repo import Repo

from connections.providers.base import GitLabApi, RemoteCommit
from core.errors import ProviderNotFound, RefConflict
from repos import storage
from sync.engine import progress
from sync.engine.api_common import (
    MODE_EXEC,
    Leaf,
    Pacer,
    chunked,
    commit_info,
    export_message,
    lazy_blob,
    local_leaves,
    local_snapshot,
    read_blob,
    refuse_if_remote_moved,
    with_retries,
)
from sync.engine.recovery import CommitInfo, CommitReader, recovered_export
from sync.engine.types import ExportRequest, NeedsGitPush, SyncResult

MAX_ACTIONS = 500
MAX_BYTES = 20 * 1024 * 1024
REGULAR = (0o100644, MODE_EXEC)


def run_export(req: ExportRequest, api: GitLabApi, *, pacer: Pacer | None = None) -> SyncResult:
    pacer = pacer or Pacer(per_minute=10_000)  # GitLab: no content pacing, only Retry-After
    remote = req.remote_name
    with storage.open_repo(req.repo_path) as repo:
        local, local_tree = local_snapshot(repo, req.branch)
        head = with_retries(pacer, lambda: api.get_branch_sha(remote, req.branch), content=False)
        refuse_if_remote_moved(repo, req, head, local, _reader(api, remote, pacer),
                               bases=_branch_start(api, req, head, pacer))
        start = head or _new_branch_start(api, remote, pacer)
        remote_leaves = _remote_leaves(api, remote, start, pacer)
        actions, warnings, changed, deleted = _actions(repo, local_leaves(repo, local_tree),
                                                       remote_leaves)
        if warnings and req.git_fallback:
            raise NeedsGitPush(warnings)  # nothing written yet: the push makes the trees equal
        if not actions and (head is not None or start is None):
            return recovered_export(repo, req, head, local, _reader(api, remote, pacer)) \
                or SyncResult("skipped", head, local.decode(), warnings=warnings,
                              message=_summary("Remote already matches", warnings))
        if not actions:
            sha = _create_branch(api, req, start, pacer)
        else:
            progress.phase(progress.UPLOADING, files_total=len(actions))
            sha = _commit_groups(api, req, local, actions, head, start, pacer)
    return SyncResult("success", sha, local.decode(), changed, deleted, warnings=warnings,
                      message=_summary(f"Exported {local.decode()[:12]} to {req.remote_label}",
                                       warnings))


def _reader(api: GitLabApi, remote: str, pacer: Pacer) -> CommitReader:
    def read(sha: str) -> CommitInfo | None:
        try:
            return commit_info(with_retries(pacer, lambda: api.get_commit(remote, sha),
                                            content=False))
        except ProviderNotFound:
            return None

    return read


def _branch_start(api: GitLabApi, req: ExportRequest, head: str | None, pacer: Pacer
                  ) -> tuple[str, ...]:
    """Never exported to, yet the branch exists: maybe an interrupted run created it from the
    default branch, so that head is where Coregit's own commits may start."""
    if req.force or head is None or req.last_remote_sha is not None:
        return ()
    start = _new_branch_start(api, req.remote_name, pacer, exclude=req.branch)
    return (start,) if start and start != head else ()


def _create_branch(api: GitLabApi, req: ExportRequest, start: str, pacer: Pacer) -> str:
    """The content already matches the start point: the branch is created there, no commit.
    Repeated after a lost answer, a branch that now exists at ``start`` is the one we made."""
    def once() -> str:
        current = with_retries(pacer, lambda: api.get_branch_sha(req.remote_name, req.branch),
                               content=False)
        if current == start:
            return start
        if current is not None:
            _moved(req, None, current)
        return api.create_branch(req.remote_name, req.branch, start)

    return with_retries(pacer, once)


def _moved(req: ExportRequest, expected: str | None, current: str | None) -> None:
    was = expected[:12] if expected else "missing"
    raise RefConflict(
        f"The remote branch '{req.branch}' moved during export ({was} -> "
        f"{current[:12] if current else 'deleted'}); nothing was overwritten, run it again"
    )


def _new_branch_start(api: GitLabApi, remote: str, pacer: Pacer, *, exclude: str = ""
                      ) -> str | None:
    """A missing branch starts from the default branch's head (None: the project is empty)."""
    info = with_retries(pacer, lambda: api.get_repo(remote), content=False)
    if info.empty or not info.default_branch or info.default_branch == exclude:
        return None
    return with_retries(pacer, lambda: api.get_branch_sha(remote, info.default_branch),
                        content=False)


def _remote_leaves(api: GitLabApi, remote: str, ref: str | None, pacer: Pacer
                   ) -> dict[str, Leaf]:
    if ref is None:
        return {}
    entries = with_retries(pacer, lambda: api.get_tree(remote, ref), content=False)
    return {e.path: Leaf(int(e.mode, 8), e.sha) for e in entries if e.type != "tree"}


def _actions(repo: Repo, local: dict[str, Leaf], remote: dict[str, Leaf]
             ) -> tuple[list[dict], list[str], int, int]:
    deletes, writes, warnings = [], [], []
    for path in sorted(remote.keys() - local.keys()):
        if remote[path].mode in REGULAR:
            deletes.append({"action": "delete", "file_path": path})
        else:
            warnings.append(_unrepresentable(path, remote[path], None))
    for path, leaf in sorted(local.items()):
        old = remote.get(path)
        if old == leaf:
            continue
        if leaf.mode not in REGULAR or (old is not None and old.mode not in REGULAR):
            warnings.append(_unrepresentable(path, old, leaf))
        else:
            writes.append(_write_action(repo, path, leaf, old))
    # Deletions first, so a file replaced by a directory (or back) applies in order.
    return deletes + writes, warnings, len(writes), len(deletes)


def _write_action(repo: Repo, path: str, leaf: Leaf, old: Leaf | None) -> dict:
    """The action with its content still in the store: read again only while the commit body is
    sent (sized now, one blob at a time, so groups stay under ``MAX_BYTES``)."""
    exec_bit = leaf.mode == MODE_EXEC
    if old is not None and old.sha == leaf.sha:
        return {"action": "chmod", "file_path": path, "execute_filemode": exec_bit}
    size = len(read_blob(repo, leaf.sha))
    return {"action": "create" if old is None else "update", "file_path": path,
            "execute_filemode": exec_bit, "content": lazy_blob(repo, leaf.sha, size)}


def _action_size(action: dict) -> int:
    """Bytes the action adds to a request: base64 is the worst case (text is sent as is)."""
    content = action.get("content")
    return len(action["file_path"]) + (-(-content.size // 3) * 4 if content else 0)


def _unrepresentable(path: str, old: Leaf | None, new: Leaf | None) -> str:
    def kind(leaf: Leaf | None) -> str:
        if leaf is None:
            return "nothing"
        return {0o120000: "a symlink", 0o160000: "a submodule link"}.get(leaf.mode, "a file")

    return (f"{path}: GitLab's commits API cannot write {kind(new) if new else 'the removal of'}"
            f"{'' if new else ' ' + kind(old)}; left unchanged on GitLab ({kind(old)} there)")


def _commit_groups(api: GitLabApi, req: ExportRequest, local: bytes, actions: list[dict],
                   head: str | None, start: str | None, pacer: Pacer) -> str:
    groups = list(chunked(actions, max_items=MAX_ACTIONS, max_bytes=MAX_BYTES, size=_action_size))
    prev = head
    for n, group in enumerate(groups, 1):
        part = f" (part {n}/{len(groups)})" if len(groups) > 1 else ""
        commit = with_retries(pacer, lambda g=group, p=part, b=prev: _commit_once(
            api, req, export_message(req, local, p), g, b, start, pacer))
        expected = prev if prev is not None else start
        if expected is not None and list(commit.parents) != [expected]:
            raise RefConflict(
                f"The remote branch '{req.branch}' moved during export (commit "
                f"{commit.sha[:12]} landed on top of someone else's change); run it again"
            )
        prev = commit.sha
    assert prev is not None
    return prev


def _commit_once(api: GitLabApi, req: ExportRequest, message: str, group: list[dict],
                 prev: str | None, start: str | None, pacer: Pacer) -> RemoteCommit:
    """One attempt at one group's commit, safe to repeat: GitLab's commits API is not idempotent,
    and a POST whose answer was lost (timeout, reset, 5xx) may have landed. So the branch head is
    re-read first: still ``prev`` → (re)send; our own commit of this group on ``prev`` → it landed,
    use it; anything else → someone else moved the branch, stop."""
    current = with_retries(pacer, lambda: api.get_branch_sha(req.remote_name, req.branch),
                           content=False)
    if current != prev and current is not None:
        landed = with_retries(pacer, lambda: api.get_commit(req.remote_name, current),
                              content=False)
        base = prev if prev is not None else start
        if list(landed.parents) == ([base] if base else []) and (
                landed.message.strip() == message.strip()):
            return landed
    if current != prev:
        _moved(req, prev, current)
    seed = start if prev is None else None  # start_sha only ever creates the branch
    return api.create_commit(req.remote_name, branch=req.branch, message=message, actions=group,
                             start_sha=seed)


def _summary(text: str, warnings: list[str]) -> str:
    if not warnings:
        return text
    return f"{text}; {len(warnings)} path(s) not exportable through the GitLab API: " + "; ".join(
        warnings[:5]) + (" ..." if len(warnings) > 5 else "")
