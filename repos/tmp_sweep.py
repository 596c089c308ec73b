"""Periodic removal of temporary files that aborted work left in repositories.

A process killed mid-push or mid-fetch cannot clean up after itself. What it may leave:

- ``objects/tmp_pack_*``: dulwich's ``add_thin_pack`` spool (pushes);
- ``objects/pack/tmp*``: dulwich's ``add_pack`` (``mkstemp(suffix=".pack")``, fetches indexed by
  dulwich) and git's own ``tmp_pack_*``/``tmp_idx_*`` when git ran on the repository;
- ``objects/incoming-*``: push quarantines (:mod:`repos.quarantine`) and the scratch directories
  of fetched packs indexed by ``git index-pack`` (``sync.engine.packs``);
- ``*.lock`` under ``refs/`` and ``packed-refs.lock``: a ref update killed between taking and
  releasing its lock, which would otherwise refuse every later update of that ref;
- the same under Coregit's sync area (``coregit-sync/refs/**/*.lock``, see
  sync/engine/tracking.py) and its shallow marks spooled aside (``coregit-sync/shallow.*.tmp``);
- ``objects/pack/pack-*.pack`` without its ``.idx``: a crash between publishing a pack and its
  index (quarantine migration, dulwich's pack completion). Git ignores such a pack; its mtime is
  the end of its writing, moments before the index, so an old one is never about to get one.

Only entries untouched for ``max_age`` seconds go: a push or fetch in flight keeps writing its
file (a quarantine directory counts as touched when anything inside it is), and a ref lock is
held for milliseconds.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from repos.models import Repository
from repos.quarantine import QUARANTINE_PREFIX

logger = logging.getLogger(__name__)
SYNC_AREA = "coregit-sync"  # sync.engine.tracking.AREA (repos does not depend on sync)


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
                except FileNotFoundError:
                    continue
    return newest


def _candidates(repo_path: Path) -> Iterator[Path]:
    objects = repo_path / "objects"
    yield from objects.glob("tmp_pack_*")
    yield from objects.glob(QUARANTINE_PREFIX + "*")
    yield from (objects / "pack").glob("tmp*")
    yield from (repo_path / "refs").rglob("*.lock")
    yield repo_path / "packed-refs.lock"
    yield from (repo_path / SYNC_AREA / "refs").rglob("*.lock")
    yield from (repo_path / SYNC_AREA).glob("shallow.*.tmp")
    yield from (p for p in (objects / "pack").glob("pack-*.pack") if _without_index(p))


def _without_index(pack: Path) -> bool:
    return not pack.with_suffix(".idx").exists()


def sweep_repository(repo_path: Path, *, max_age: float, now: float | None = None) -> list[Path]:
    """Remove this repository's temporary files older than ``max_age`` seconds; return them."""
    cutoff = (time.time() if now is None else now) - max_age
    removed = []
    for path in _candidates(repo_path):
        try:
            if _newest_mtime(path) > cutoff:
                continue
            if path.suffix == ".pack" and path.name.startswith("pack-") \
                    and not _without_index(path):
                continue  # its index appeared meanwhile: a published pack
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue  # gone meanwhile (finished, or another sweep)
        removed.append(path)
    return removed


def repositories_temp_files_sweep(*, max_age: float | None = None) -> dict:
    """Sweep every repository on disk; returns counts for the task result and the logs."""
    age = settings.COREGIT_TEMP_FILE_MAX_AGE if max_age is None else max_age
    swept = files = 0
    for repository in Repository.objects.only("id", "org_id").iterator():
        path = repository.disk_path
        if not path.is_dir():
            continue
        removed = sweep_repository(path, max_age=age)
        swept += 1
        files += len(removed)
        for entry in removed:
            logger.info("removed stale temporary file %s", entry)
    return {"repositories": swept, "removed": files}
