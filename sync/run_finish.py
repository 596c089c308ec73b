"""How runs end: success, failure, re-queue after a transient error, and giving up on lost workers.

Every transition out of ``running`` is a conditional update on the run's claim (``worker``), so a
worker that lost its claim (taken over after its worker was found gone) changes nothing. Recording
an outcome is retried while the database is unreachable (sync/db_retry.py). The config is always
re-read under its row lock, so a PATCH made while the run executed is never overwritten.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import CoregitError, WorkerLost
from events import sync_events
from sync.db_retry import until_database_is_back
from sync.engine.types import SyncResult
from sync.mirror_runner import record_ref_states
from sync.models import SyncConfig, SyncRun, SyncState
from sync.run_metrics import run_observe

logger = logging.getLogger(__name__)
AUTOMATIC = (SyncRun.Trigger.WEBHOOK, SyncRun.Trigger.PUSH, SyncRun.Trigger.SCHEDULE)
SUCCEEDED = (SyncRun.Status.SUCCESS, SyncRun.Status.SKIPPED)
PAUSE_AFTER_FAILURES = 10
FOLLOWS = ("remote", "direction", "branch", "mode")  # what a config follows; a PATCH resets


def _finish(run: SyncRun, **fields) -> bool:
    """Apply ``fields`` only if ``run`` is still running under our claim."""
    done = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING,
                                  worker=run.worker).update(**fields)
    for name, value in fields.items():
        setattr(run, name, value)
    if not done:
        logger.warning("run %s lost its claim before finishing; leaving it as it is", run.pk)
    return bool(done)


def requeue(run: SyncRun, exc: CoregitError, countdown: float) -> None:
    until_database_is_back(lambda: _finish(
        run, status=SyncRun.Status.QUEUED,
        message=f"Retrying in {countdown:.0f}s (attempt {run.attempts}): {exc.message}",
        enqueued_at=timezone.now() + timedelta(seconds=countdown)))


def fail(run: SyncRun, config: SyncConfig, exc: CoregitError) -> SyncRun:
    """End ``run`` in error (``config`` is re-read under its lock; only its id is used)."""

    refs = getattr(exc, "refs", None)  # a mirror run that refused some refs updated the others
    extra = {"refs": refs} if refs is not None else {}
    if warnings := getattr(exc, "warnings", None):
        extra["warnings"] = list(warnings)

    def record() -> None:
        with transaction.atomic():
            ended = _fail_locked(run, exc, config, **extra)
            if ended and refs is not None:
                _record_ref_states(run, config, refs)

    until_database_is_back(record)
    return run


def _fail_locked(run: SyncRun, exc: CoregitError, started: SyncConfig | None = None,
                 **extra) -> bool:
    if _finish(run, status=SyncRun.Status.ERROR, error_code=exc.code, message=exc.message,
               completed_at=timezone.now(), **extra):
        sync_events.run_finished(run)
        _record_failure(run, exc, started)
        transaction.on_commit(partial(run_observe, run.pk), robust=True)
        return True
    return False


def _still_follows(current: SyncConfig, run: SyncRun, started: SyncConfig | None) -> bool:
    """Whether ``current`` follows what the run worked on (``started``: the config it ran with)."""
    if started is not None:
        return _follows_same(current, started)
    return current.direction == run.direction  # a lost run: only what the run itself recorded


def _record_failure(run: SyncRun, exc: CoregitError, started: SyncConfig | None) -> None:
    config = SyncConfig.objects.select_for_update().filter(pk=run.config_id).first()
    if config is None:
        return
    if not _still_follows(config, run, started):
        return  # a PATCH changed the target meanwhile: this error belongs to the run only
    newer_success = SyncRun.objects.filter(config_id=config.pk, status__in=SUCCEEDED,
                                           created_at__gt=run.created_at)
    if newer_success.exists():
        return  # an old run failing late says nothing about the config's state now
    config.last_error = exc.message
    fields = ["last_error", "updated_at"]
    if run.trigger in AUTOMATIC:
        config.consecutive_failures += 1
        was_paused = config.auto_sync_paused
        config.auto_sync_paused |= config.consecutive_failures >= PAUSE_AFTER_FAILURES
        fields += ["consecutive_failures", "auto_sync_paused"]
        if config.auto_sync_paused and not was_paused:
            sync_events.auto_sync_paused(config)
    config.save(update_fields=fields)  # only these: a concurrent PATCH keeps everything else


def _follows_same(current: SyncConfig, config: SyncConfig) -> bool:
    return all(getattr(current, f) == getattr(config, f) for f in FOLLOWS)


def _record_ref_states(run: SyncRun, config: SyncConfig, refs: list[dict]) -> None:
    current = SyncConfig.objects.select_for_update().filter(pk=run.config_id).first()
    if current is not None and _follows_same(current, config):
        record_ref_states(current, refs)


def lost_worker(run: SyncRun) -> bool:
    """Count one lost worker on ``run`` (running, locked by the caller).

    Returns whether it may run again; after COREGIT_RUN_MAX_ATTEMPTS losses it ends in error
    (a run whose execution kills its worker must not kill every worker that picks it up).
    """
    run.lost_count += 1
    if run.lost_count < settings.COREGIT_RUN_MAX_ATTEMPTS:
        return True
    exc = WorkerLost(f"The worker running this sync was lost {run.lost_count} times; giving up")
    _fail_locked(run, exc, lost_count=run.lost_count)
    return False


def succeed(run: SyncRun, config: SyncConfig, result: SyncResult) -> SyncRun:
    until_database_is_back(lambda: _record_success(run, config, result))
    return run


def _record_success(run: SyncRun, config: SyncConfig, result: SyncResult) -> None:
    now = timezone.now()
    with transaction.atomic():
        if not _finish(run, status=result.status, remote_sha=result.remote_sha,
                       commit_sha=result.commit_sha, files_changed=result.files_changed,
                       deleted=result.deleted, message=result.message, completed_at=now,
                       error_code="", refs=result.refs, warnings=list(result.warnings)):
            return
        sync_events.run_finished(run)
        transaction.on_commit(partial(run_observe, run.pk), robust=True)
        current = SyncConfig.objects.select_for_update().get(pk=config.pk)
        fields = ["last_error", "consecutive_failures", "auto_sync_paused", "updated_at"]
        if _follows_same(current, config):
            # A PATCH that changed what the config follows reset the state meanwhile: keep it so.
            SyncState.objects.update_or_create(
                config=current, branch=run.branch,
                defaults={"last_remote_sha": result.remote_sha,
                          "last_local_sha": result.commit_sha},
            )
            record_ref_states(current, result.refs)
            current.last_synced_at = now
            fields.append("last_synced_at")
        current.last_error, current.consecutive_failures = None, 0
        if run.trigger == SyncRun.Trigger.API:
            if current.auto_sync_paused:
                sync_events.auto_sync_resumed(current, reason="manual_sync_succeeded")
            current.auto_sync_paused = False  # a successful manual trigger resumes auto-sync
        current.save(update_fields=fields)
        if current.connection_id:
            type(current.connection).objects.filter(pk=current.connection_id).update(
                last_synced_at=now)
