"""Which exports an API cannot write exactly, so they go over the git protocol instead.

GitLab's commits API writes regular files only: a symlink or a submodule link in the change would
be dropped (and a later import would then delete it locally). Such a change is pushed over git
smart HTTP instead (one commit on top of the remote tip, with its expected old value), so the
remote tree equals the local tree.
"""

from __future__ import annotations

from pathlib import Path

from repos import storage


def needs_git_export(repo_path: Path | str, branch: str, since_local_sha: str | None) -> bool:
    """Whether the local branch, since ``since_local_sha`` (the last export; None: ever), adds
    or changes a symlink or a submodule link."""
    with storage.open_repo(repo_path) as repo:
        local = storage.read_ref(repo, storage.branch_ref(branch))
        if local is None:
            return False
        since = since_local_sha.encode() if since_local_sha else None
        old_tree = (storage.commit_tree(repo, since)
                    if since and since in repo.object_store else None)
        diff = storage.diff_trees(repo, old_tree, storage.commit_tree(repo, local))
    return any(e.is_symlink or e.is_submodule for e in diff.added + diff.modified)
