"""Which exports an API cannot write exactly, so they go over the git protocol instead.

GitLab's commits API writes regular files only: a symlink or a submodule link the change adds,
changes or removes would be left as it is (and a later import would then undo the change
locally). Such a change is pushed over git smart HTTP instead (one commit on top of the remote
tip, with its expected old value), so the remote tree equals the local tree.
"""

from __future__ import annotations

import stat
from pathlib import Path

from dulwich.diff_tree import tree_changes

from repos import storage


def needs_git_export(repo_path: Path | str, branch: str, since_local_sha: str | None) -> bool:
    """Whether the local branch, since ``since_local_sha`` (the last export; None: ever), adds,
    changes or removes a symlink or a submodule link."""
    with storage.open_repo(repo_path) as repo:
        local = storage.read_ref(repo, storage.branch_ref(branch))
        if local is None:
            return False
        since = since_local_sha.encode() if since_local_sha else None
        old_tree = (storage.commit_tree(repo, since)
                    if since and since in repo.object_store else None)
        changes = tree_changes(repo.object_store, old_tree, storage.commit_tree(repo, local))
        return any(_special(entry.mode) for change in changes
                   for entry in (change.old, change.new) if entry is not None and entry.mode)


def _special(mode: int) -> bool:
    return stat.S_ISLNK(mode) or (mode & 0o170000) == 0o160000  # a symlink or a gitlink
