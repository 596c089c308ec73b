"""How runs end (success, failure, re-queue) and the reaper for runs whose worker is gone.

Every transition out of ``running`` is a conditional update on the run's claim (``worker``), so a
worker that lost its claim (taken over after a stale heartbeat, or reaped) changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import CoregitError, ProviderError, WorkerLost
from sync.engine.types import SyncResult
from sync.models import SyncConfig, SyncRun, SyncState

logger = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=3)  # heartbeat age after which a run's worker counts as gone
LOST_AFTER = timedelta(minutes=10)  # queued this long past its due time: the message was lost
AUTOMATIC = (SyncRun.Trigger.WEBHOOK, SyncRun.Trigger.PUSH, SyncRun.Trigger.SCHEDULE)
PAUSE_AFTER_FAILURES = 10


def _finish(run: SyncRun, **fields) -> bool:
    """Apply ``fields`` only if ``run`` is still running under our claim."""
    done = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING,
                                  worker=run.worker).update(**fields)
    for name, value in fields.items():
        setattr(run, name, value)
    if not done:
        logger.warning("run %s lost its claim before finishing; leaving it as it is", run.pk)
    return bool(done)


def requeue(run: SyncRun, exc: ProviderError, countdown: float) -> None:
    _finish(run, status=SyncRun.Status.QUEUED,
            message=f"Retrying in {countdown:.0f}s (attempt {run.attempts}): {exc.message}",
            enqueued_at=timezone.now() + timedelta(seconds=countdown))


def fail(run: SyncRun, config: SyncConfig, exc: CoregitError) -> SyncRun:
    with transaction.atomic():
        if not _finish(run, status=SyncRun.Status.ERROR, error_code=exc.code,
                       message=exc.message, completed_at=timezone.now()):
            return run
        _record_failure(config, run, exc)
    return run


def _record_failure(config: SyncConfig, run: SyncRun, exc: CoregitError) -> None:
    config.last_error = exc.message
    fields = ["last_error", "updated_at"]
    if run.trigger in AUTOMATIC:
        config.consecutive_failures += 1
        config.auto_sync_paused = config.consecutive_failures >= PAUSE_AFTER_FAILURES
        fields += ["consecutive_failures", "auto_sync_paused"]
    config.save(update_fields=fields)


def succeed(run: SyncRun, config: SyncConfig, result: SyncResult) -> SyncRun:
    now = timezone.now()
    with transaction.atomic():
        if not _finish(run, status=result.status, remote_sha=result.remote_sha,
                       commit_sha=result.commit_sha, files_changed=result.files_changed,
                       deleted=result.deleted, message=result.message, completed_at=now,
                       error_code=""):
            return run
        current = SyncConfig.objects.select_for_update().get(pk=config.pk)
        if (current.remote, current.direction) == (config.remote, config.direction):
            # A PATCH that changed what the config follows reset the state meanwhile: keep it so.
            SyncState.objects.update_or_create(
                config=current, branch=run.branch,
                defaults={"last_remote_sha": result.remote_sha,
                          "last_local_sha": result.commit_sha},
            )
        current.last_error, current.last_synced_at, current.consecutive_failures = None, now, 0
        if run.trigger == SyncRun.Trigger.API:
            current.auto_sync_paused = False  # a successful manual trigger resumes auto-sync
        current.save(update_fields=["last_error", "last_synced_at", "consecutive_failures",
                                    "auto_sync_paused", "updated_at"])
        if current.connection_id:
            type(current.connection).objects.filter(pk=current.connection_id).update(
                last_synced_at=now)
    return run


def sync_runs_reap(*, older_than: timedelta = timedelta(minutes=30)) -> dict[str, int]:
    """Fail runs whose worker is gone; publish again queued runs whose task message was lost."""
    now = timezone.now()
    reaped = 0
    for run in SyncRun.objects.filter(status=SyncRun.Status.RUNNING,
                                      heartbeat_at__lt=now - older_than):
        if SyncRun.objects.filter(pk=run.pk, heartbeat_at__lt=now - older_than).exists():
            fail(run, SyncConfig.objects.get(pk=run.config_id), WorkerLost())
            reaped += 1
    from sync.run_services import enqueue  # run_services imports this module

    lost = SyncRun.objects.filter(status=SyncRun.Status.QUEUED, enqueued_at__lt=now - LOST_AFTER)
    requeued = 0
    for run in lost:
        with transaction.atomic():
            enqueue(run)
        requeued += 1
    return {"reaped": reaped, "requeued": requeued}
