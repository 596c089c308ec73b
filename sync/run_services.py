"""Sync runs: requested by the API, webhooks, pushes and the schedule; executed by a worker.

At most one run executes per repository: a run is claimed under a row lock on its repository,
and a claimed (``running``) run with a fresh heartbeat keeps every other run of that repository
queued. A worker that dies leaves a stale heartbeat: the redelivered task takes the run over, and
the reaper fails runs whose task never comes back. Finishing a run is conditional on still holding
its claim, so a run that was taken over or reaped is never overwritten by a late worker.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core.errors import BadRequest, CoregitError, ProviderError
from repos.models import Repository
from repos.validation import branch_error
from sync import executor
from sync.heartbeat import heartbeat
from sync.models import SyncConfig, SyncRun
from sync.run_finish import LOST_AFTER, STALE_AFTER, fail, requeue, succeed
from sync.selectors import sync_state_for

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 6


class Busy(Exception):
    """Another run of the same repository is executing; try again shortly."""


@dataclass(frozen=True)
class RetryLater(Exception):
    countdown: float
    reason: str


def enqueue(run: SyncRun) -> None:
    """Record when the task message was published, and publish it once the transaction commits.

    Publishing is best effort (``robust``): if the broker is down the run stays queued with an old
    ``enqueued_at``, and the next identical trigger or the reaper publishes it again.
    """
    from workers.tasks import sync_run

    run.enqueued_at = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(enqueued_at=run.enqueued_at)
    transaction.on_commit(lambda: sync_run.delay(run.pk), robust=True)


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
            if same.enqueued_at is None or same.enqueued_at < timezone.now() - LOST_AFTER:
                enqueue(same)  # its task message looks lost: publish it again (claims dedupe)
            return same
        run = SyncRun.objects.create(
            org_id=config.org_id, config=config, repository_id=config.repository_id,
            trigger=trigger, direction=config.direction, branch=branch, force=force,
        )
        enqueue(run)
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
        run.status, run.worker = SyncRun.Status.RUNNING, f"{worker}#{uuid.uuid4().hex[:12]}"
        run.started_at = run.started_at or now
        run.heartbeat_at, run.attempts = now, run.attempts + 1
        run.save(update_fields=["status", "worker", "started_at", "heartbeat_at", "attempts"])
    return run


def sync_run_execute(*, run_id: str, worker: str = "") -> SyncRun | None:
    try:
        run = _claim(run_id, worker)
    except Busy:
        # Still waiting behind another run: its message is alive, so the reaper leaves it be.
        SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
            enqueued_at=timezone.now())
        raise
    if run is None:
        return None
    config = SyncConfig.objects.select_related("repository", "connection").get(pk=run.config_id)
    state = sync_state_for(config=config, branch=run.branch)
    try:
        with heartbeat(SyncRun, run.pk):
            result = executor.execute(config, run, state)
    except ProviderError as exc:
        if exc.transient and run.attempts < MAX_ATTEMPTS:
            countdown = backoff(run.attempts, getattr(exc, "retry_after", None))
            requeue(run, exc, countdown)
            raise RetryLater(countdown=countdown, reason=exc.message) from None
        return fail(run, config, exc)
    except CoregitError as exc:
        return fail(run, config, exc)
    except Exception:
        logger.exception("sync run %s failed unexpectedly", run.pk)
        return fail(run, config, CoregitError("Internal error while syncing; see the logs"))
    return succeed(run, config, result)


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never sooner than the provider asked."""
    base = min(600.0, 2.0 ** attempt * 5)
    delay = random.uniform(base / 2, base)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0.0)
