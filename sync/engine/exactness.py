"""Which snapshot exports go over the git protocol instead of the provider's API, and why.

Two reasons, both read from the local change since the last export (no provider request):
- **links**: GitLab's commits API writes regular files only; a symlink or a submodule link in the
  change would be dropped (and a later import would then delete it locally).
- **large**: a change of many files or many bytes. GitHub's API takes 150 files (or 2 MB) per
  create-tree call and one call per binary blob, each paced under the secondary limit of 80
  content-creating requests a minute (500 an hour): 100,000 files need ~700 calls, 9+ minutes
  and more than the hourly budget. GitLab's takes 500 files (or ~20 MB) per commit, each re-read
  and re-sent as base64. A push is two requests and one streamed pack, whatever the size
  (measured by ``bench/export_scale.py``, figures in docs/benchmarks.md).

Both go through ``sync.engine.export_push``: one commit on top of the remote tip, pushed with its
expected old value, so the remote tree equals the local tree. Small changes keep the API path
(its commits are the ones GitHub shows as made through the API, and tests pin its requests).
"""

from __future__ import annotations

from pathlib import Path

from repos import storage
from sync.engine.api_common import read_blob

LINKS, LARGE = "links", "large"


def push_reason(repo_path: Path | str, branch: str, since_local_sha: str | None, *,
                provider: str, min_files: int, min_bytes: int) -> str | None:
    """Why the change since ``since_local_sha`` (the last export; None: ever) should be pushed
    over git rather than sent through ``provider``'s API; None: the API is fine."""
    with storage.open_repo(repo_path) as repo:
        local = storage.read_ref(repo, storage.branch_ref(branch))
        if local is None:
            return None
        since = since_local_sha.encode() if since_local_sha else None
        old_tree = (storage.commit_tree(repo, since)
                    if since and since in repo.object_store else None)
        diff = storage.diff_trees(repo, old_tree, storage.commit_tree(repo, local))
        written = diff.added + diff.modified
        if provider == "gitlab" and any(e.is_symlink or e.is_submodule for e in written):
            return LINKS
        if diff.files_changed + len(diff.deleted) >= min_files:
            return LARGE
        total = 0
        for entry in written:  # stops as soon as the budget is reached: bounded work
            if not entry.is_submodule:
                total += len(read_blob(repo, entry.sha.decode()))
                if total >= min_bytes:
                    return LARGE
    return None

