"""Sync runs: requested by the API, webhooks, pushes and the schedule; executed by a worker.

At most one run executes per repository: a run is claimed under a row lock on its repository,
and a claimed (``running``) run with a fresh heartbeat keeps every other run of that repository
queued. A worker that dies leaves a stale heartbeat: the redelivered task takes the run over, and
the reaper fails runs whose task never comes back.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import BadRequest, CoregitError, ProviderError, WorkerLost
from repos.models import Repository
from repos.validation import branch_error
from sync import executor
from sync.heartbeat import heartbeat
from sync.models import SyncConfig, SyncRun, SyncState
from sync.selectors import sync_state_for

logger = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=3)
MAX_ATTEMPTS = 6
AUTOMATIC = (SyncRun.Trigger.WEBHOOK, SyncRun.Trigger.PUSH, SyncRun.Trigger.SCHEDULE)
PAUSE_AFTER_FAILURES = 10


class Busy(Exception):
    """Another run of the same repository is executing; try again shortly."""


@dataclass(frozen=True)
class RetryLater(Exception):
    countdown: float
    reason: str


def _enqueue(run_id: str) -> None:
    from workers.tasks import sync_run

    sync_run.delay(run_id)


def sync_run_request(
    *, config: SyncConfig, trigger: str, branch: str | None = None, force: bool = False
) -> SyncRun:
    """Queue a run (returning an identical queued one instead of adding another)."""
    branch = branch or config.branch
    if err := branch_error(branch):
        raise BadRequest(f"Invalid request: branch: {err}", details={"branch": [err]})
    with transaction.atomic():
        SyncConfig.objects.select_for_update().filter(pk=config.pk).first()
        same = SyncRun.objects.filter(
            config=config, status=SyncRun.Status.QUEUED, branch=branch,
            direction=config.direction, force=force,
        ).order_by("created_at").first()
        if same is not None:
            return same
        run = SyncRun.objects.create(
            org_id=config.org_id, config=config, repository_id=config.repository_id,
            trigger=trigger, direction=config.direction, branch=branch, force=force,
        )
        transaction.on_commit(lambda: _enqueue(run.id))
    return run


def _claim(run_id: str, worker: str) -> SyncRun | None:
    now = timezone.now()
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.finished:
            return None  # deleted, or a duplicate delivery of a finished run
        Repository.objects.select_for_update().filter(pk=run.repository_id).first()
        fresh = now - STALE_AFTER
        if run.status == SyncRun.Status.RUNNING and run.heartbeat_at and run.heartbeat_at > fresh:
            raise Busy()  # another delivery of this very task is still working on it
        others = SyncRun.objects.filter(repository_id=run.repository_id,
                                        status=SyncRun.Status.RUNNING, heartbeat_at__gt=fresh)
        if others.exclude(pk=run.pk).exists():
            raise Busy()
        run.status, run.worker = SyncRun.Status.RUNNING, worker
        run.started_at = run.started_at or now
        run.heartbeat_at, run.attempts = now, run.attempts + 1
        run.save(update_fields=["status", "worker", "started_at", "heartbeat_at", "attempts"])
    return run


def sync_run_execute(*, run_id: str, worker: str = "") -> SyncRun | None:
    run = _claim(run_id, worker)
    if run is None:
        return None
    config = SyncConfig.objects.select_related("repository", "connection").get(pk=run.config_id)
    state = sync_state_for(config=config, branch=run.branch)
    try:
        with heartbeat(SyncRun, run.pk):
            result = executor.execute(config, run, state)
    except ProviderError as exc:
        if exc.transient and run.attempts < MAX_ATTEMPTS:
            return _requeue(run, exc)
        return _fail(run, config, exc)
    except CoregitError as exc:
        return _fail(run, config, exc)
    except Exception:
        logger.exception("sync run %s failed unexpectedly", run.pk)
        return _fail(run, config, CoregitError("Internal error while syncing; see the logs"))
    return _succeed(run, config, result)


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never sooner than the provider asked."""
    base = min(600.0, 2.0 ** attempt * 5)
    delay = random.uniform(base / 2, base)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0.0)


def _requeue(run: SyncRun, exc: ProviderError) -> SyncRun:
    countdown = backoff(run.attempts, getattr(exc, "retry_after", None))
    run.status = SyncRun.Status.QUEUED
    run.message = f"Retrying in {countdown:.0f}s (attempt {run.attempts}): {exc.message}"
    run.save(update_fields=["status", "message"])
    raise RetryLater(countdown=countdown, reason=exc.message)


def _fail(run: SyncRun, config: SyncConfig, exc: CoregitError) -> SyncRun:
    now = timezone.now()
    with transaction.atomic():
        run.status, run.error_code, run.message = SyncRun.Status.ERROR, exc.code, exc.message
        run.completed_at = now
        run.save(update_fields=["status", "error_code", "message", "completed_at"])
        config.last_error = exc.message
        fields = ["last_error", "updated_at"]
        if run.trigger in AUTOMATIC:
            config.consecutive_failures += 1
            config.auto_sync_paused = config.consecutive_failures >= PAUSE_AFTER_FAILURES
            fields += ["consecutive_failures", "auto_sync_paused"]
        config.save(update_fields=fields)
    return run


def _succeed(run: SyncRun, config: SyncConfig, result) -> SyncRun:
    now = timezone.now()
    with transaction.atomic():
        run.status = result.status
        run.remote_sha, run.commit_sha = result.remote_sha, result.commit_sha
        run.files_changed, run.deleted = result.files_changed, result.deleted
        run.message, run.completed_at, run.error_code = result.message, now, ""
        run.save()
        SyncState.objects.update_or_create(
            config=config, branch=run.branch,
            defaults={"last_remote_sha": result.remote_sha, "last_local_sha": result.commit_sha},
        )
        config.last_error, config.last_synced_at = None, now
        config.consecutive_failures = 0
        if run.trigger == SyncRun.Trigger.API:
            config.auto_sync_paused = False  # a successful manual trigger resumes auto-sync
        config.save(update_fields=["last_error", "last_synced_at", "consecutive_failures",
                                   "auto_sync_paused", "updated_at"])
        if config.connection_id:
            type(config.connection).objects.filter(pk=config.connection_id).update(
                last_synced_at=now)
    return run


def sync_runs_reap(*, older_than: timedelta = timedelta(minutes=30)) -> int:
    """Fail runs whose worker is gone: running with a heartbeat older than ``older_than``."""
    cutoff = timezone.now() - older_than
    reaped = 0
    for run in SyncRun.objects.filter(status=SyncRun.Status.RUNNING, heartbeat_at__lt=cutoff):
        _fail(run, SyncConfig.objects.get(pk=run.config_id), WorkerLost())
        reaped += 1
    return reaped
