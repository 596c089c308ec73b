"""Resuming auto-sync by hand (the admin's "Resume auto-sync"), without changing the config."""

from __future__ import annotations

from sync.models import SyncConfig


def sync_config_resume_auto_sync(*, config: SyncConfig) -> bool:
    """Clear the pause and the failure count; False when ``config`` was not paused."""
    resumed = SyncConfig.objects.filter(pk=config.pk, auto_sync_paused=True).update(
        auto_sync_paused=False, consecutive_failures=0)
    config.auto_sync_paused, config.consecutive_failures = False, 0
    return bool(resumed)
