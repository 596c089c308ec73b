"""Automatic triggers beyond webhooks: exports after a push, and scheduled polling imports."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from repos.models import Repository
from sync.engine.refspecs import RefFilter
from sync.models import SyncConfig, SyncRun
from sync.run_services import sync_run_request


def sync_export_after_push(*, repository: Repository, ref: str, new_sha: str | None) -> None:
    """Queue an export when a push moved the configured branch of an export + auto_sync config.

    A burst of pushes coalesces: while an export is queued, further pushes return that same run,
    which reads the branch when it starts and so exports the last pushed state.
    """
    config = SyncConfig.objects.filter(repository=repository, direction="export",
                                       auto_sync=True, auto_sync_paused=False).first()
    if config is not None and config.mode == SyncConfig.Mode.MIRROR:
        # Every matching branch or tag, created, moved or deleted: one queued run covers them all.
        if RefFilter(config.branch_patterns, config.tags)(ref.encode()):
            sync_run_request(config=config, trigger=SyncRun.Trigger.PUSH)
        return
    if config is None or new_sha is None or ref != f"refs/heads/{config.branch}":
        return
    sync_run_request(config=config, trigger=SyncRun.Trigger.PUSH)


def sync_poll_due(*, now=None) -> int:
    """Queue a scheduled import for each polling config with no run in its interval."""
    now = now or timezone.now()
    queued = 0
    configs = SyncConfig.objects.filter(poll_interval_minutes__isnull=False, direction="import",
                                        auto_sync_paused=False)
    for config in configs:
        since = now - timedelta(minutes=config.poll_interval_minutes)
        if not SyncRun.objects.filter(config=config, created_at__gte=since).exists():
            sync_run_request(config=config, trigger=SyncRun.Trigger.SCHEDULE)
            queued += 1
    return queued
