"""Which snapshot exports go over the git protocol instead of the provider's API, and why.

Two reasons, both read from the local change since the last export (no provider request):
- **links**: GitLab's commits API writes regular files only; a symlink or a submodule link the
  change adds, changes or removes would be left as it is (and a later import would then undo the
  change locally).
- **large**: a change of many files or many bytes. GitHub's API takes 150 files (or 2 MB) per
  create-tree call and one call per binary blob, each paced under the secondary limit of 80
  content-creating requests a minute (500 an hour): 100,000 files need thousands of calls, over
  an hour of budget. GitLab's takes 500 files (or ~20 MB) per commit, each re-read and sent as
  base64. A push is two requests and one streamed pack, whatever the size (measured by
  ``bench/export_scale.py``, figures in docs/benchmarks.md).

Both go through ``sync.engine.export_push``: one commit on top of the remote tip, pushed with its
expected old value, so the remote tree equals the local tree. Small changes keep the API path
(commits made through the API, request counts the tests pin).
"""

from __future__ import annotations

import stat
from pathlib import Path

from dulwich.diff_tree import tree_changes
from dulwich.repo import Repo

from repos import storage
from sync.engine.api_common import read_blob

LINKS, LARGE = "links", "large"


def push_reason(repo_path: Path | str, branch: str, since_local_sha: str | None, *,
                provider: str, min_files: int, min_bytes: int) -> str | None:
    """Why the change since ``since_local_sha`` (the last export; None: ever) should be pushed
    over git rather than sent through ``provider``'s API; None: the API is fine."""
    with storage.open_repo(repo_path) as repo:
        trees = _trees(repo, branch, since_local_sha)
        if trees is None:
            return None
        changes = list(tree_changes(repo.object_store, *trees))
        if provider == "gitlab" and _touches_links(changes):
            return LINKS
        if len(changes) >= min_files:
            return LARGE
        total = 0
        for change in changes:  # stops as soon as the budget is reached: bounded work
            new = change.new
            if new is not None and new.mode and not _special(new.mode):
                total += len(read_blob(repo, new.sha.decode()))
                if total >= min_bytes:
                    return LARGE
    return None


def needs_git_export(repo_path: Path | str, branch: str, since_local_sha: str | None) -> bool:
    """Whether the local branch, since ``since_local_sha`` (the last export; None: ever), adds,
    changes or removes a symlink or a submodule link."""
    with storage.open_repo(repo_path) as repo:
        trees = _trees(repo, branch, since_local_sha)
        return trees is not None and _touches_links(tree_changes(repo.object_store, *trees))


def _trees(repo: Repo, branch: str, since_local_sha: str | None
           ) -> tuple[bytes | None, bytes] | None:
    local = storage.read_ref(repo, storage.branch_ref(branch))
    if local is None:
        return None
    since = since_local_sha.encode() if since_local_sha else None
    old_tree = storage.commit_tree(repo, since) if since and since in repo.object_store else None
    return old_tree, storage.commit_tree(repo, local)


def _touches_links(changes) -> bool:
    return any(_special(entry.mode) for change in changes
               for entry in (change.old, change.new) if entry is not None and entry.mode)


def _special(mode: int) -> bool:
    return stat.S_ISLNK(mode) or (mode & 0o170000) == 0o160000  # a symlink or a gitlink
