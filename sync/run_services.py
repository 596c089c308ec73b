"""Sync runs: requested by the API, webhooks, pushes and the schedule; executed by a worker.

At most one run executes per repository: a run is claimed under a row lock on its repository,
and a claimed (``running``) run whose worker is alive keeps every other run of that repository
queued. A worker that dies leaves a stale heartbeat (or, seen from its own machine, an exited
process): a redelivered task takes the run over, and the reaper (sync/run_reaper.py) re-queues runs
whose task never comes back. Finishing a run is conditional on still holding its claim, so a run
that was taken over is never overwritten by a late worker.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import BadRequest, CoregitError, RefConflict
from repos.models import Repository
from repos.validation import branch_error
from sync import dispatch, executor
from sync.db_retry import until_database_is_back
from sync.heartbeat import heartbeat
from sync.liveness import heartbeat_interval, this_process, worker_gone
from sync.models import SyncConfig, SyncRun
from sync.run_finish import fail, lost_worker, requeue, succeed
from sync.selectors import sync_state_for

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 6  # executions that end in a transient error before the run fails
QUEUE_UNREACHABLE = "The task queue is unreachable; the run is saved and will start when it is back"


class Busy(Exception):
    """Another run of the same repository is executing; try again shortly."""


@dataclass(eq=False)  # not frozen: raising it through a context manager sets __traceback__
class RetryLater(Exception):
    countdown: float
    reason: str


def enqueue(run: SyncRun, *, eta: datetime | None = None) -> None:
    """Record when the task message is published (or due), and publish it after the commit.

    A publish that fails (broker down) leaves ``enqueued_at`` null: the run is saved but
    unpublished, and the reaper or a worker (re)connecting to the broker publishes it again.
    """
    run.enqueued_at = eta or timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(enqueued_at=run.enqueued_at)
    transaction.on_commit(lambda: _publish(run, eta))


def publish_after_commit(runs: list[SyncRun]) -> None:
    """``enqueue`` for a batch whose rows already hold ``enqueued_at``: no query per run.

    After the first failed publish the broker is taken as down: the rest are marked unpublished
    in one statement (the reaper publishes them when it is back) instead of each waiting for
    its own connection retries.
    """
    def publish_all() -> None:
        for i, run in enumerate(runs):
            if not _publish(run, None):
                _mark_unpublished(runs[i + 1:])
                return

    transaction.on_commit(publish_all)


def _publish(run: SyncRun, eta: datetime | None) -> bool:
    try:
        dispatch.publish_sync_run(run.pk, eta=eta)
        return True
    except Exception:  # noqa: BLE001 - any broker failure: the run row is the durable record
        logger.warning("could not publish run %s; it stays queued until the broker is back",
                       run.pk, exc_info=True)
        _mark_unpublished([run])
        return False


def _mark_unpublished(runs: list[SyncRun]) -> None:
    if not runs:
        return
    try:  # only rows still carrying this enqueue's time: a newer publish keeps its own
        SyncRun.objects.filter(pk__in=[r.pk for r in runs], enqueued_at=runs[0].enqueued_at
                               ).update(enqueued_at=None)
        for run in runs:
            run.enqueued_at = None
    except Exception:  # noqa: BLE001 - then the reaper finds them by their old enqueued_at
        logger.warning("could not mark %d run(s) unpublished", len(runs), exc_info=True)


def sync_run_unpublished(run: SyncRun) -> bool:
    """The run waits for the broker: its task message could not be published."""
    return run.status == SyncRun.Status.QUEUED and run.enqueued_at is None


def sync_run_request(
    *, config: SyncConfig, trigger: str, branch: str | None = None, force: bool = False
) -> SyncRun:
    """Queue a run (returning an identical queued one instead of adding another)."""
    branch = branch or config.branch
    if err := branch_error(branch):
        raise BadRequest(f"Invalid request: branch: {err}", details={"branch": [err]})
    lost_after = _lost_after()
    same = _queued_to_join(config, branch, force)
    if _published_since(same, lost_after):
        # Joined without the config lock (a burst of webhooks would queue behind it): a run
        # still queued now has not started fetching, so it sees everything pushed before this
        # request. Only creating a run (or re-publishing one) needs the lock.
        return same
    with transaction.atomic():
        # NO KEY: webhook deliveries recorded meanwhile (a foreign key to this row takes KEY
        # SHARE) neither wait for it nor deadlock with it over a delivery id both insert.
        SyncConfig.objects.select_for_update(no_key=True).filter(pk=config.pk).first()
        same = _same_queued(config, branch, force)
        if same is not None:
            if same.enqueued_at is None or same.enqueued_at < lost_after:
                enqueue(same)  # its task message looks lost: publish it again (claims dedupe)
            return same
        run = SyncRun.objects.create(
            org_id=config.org_id, config=config, repository_id=config.repository_id,
            trigger=trigger, direction=config.direction, branch=branch, force=force,
        )
        enqueue(run)
    return run


def _lost_after() -> datetime:
    return timezone.now() - timedelta(seconds=settings.COREGIT_RUN_REPUBLISH_SECONDS)


def run_joinable(config: SyncConfig) -> bool:
    """Whether a request for the config's own branch joins the run already queued for it, as read
    with the config by ``webhook_candidates``: then it writes nothing but its delivery row."""
    run = _hinted_run(config) if hasattr(config, "queued_run_id") else None
    return _published_since(run, _lost_after())


def _published_since(run: SyncRun | None, lost_after: datetime) -> bool:
    """A queued run whose task message is live: joining it is enough."""
    return run is not None and run.enqueued_at is not None and run.enqueued_at >= lost_after


def _queued_to_join(config: SyncConfig, branch: str, force: bool) -> SyncRun | None:
    if branch == config.branch and not force and hasattr(config, "queued_run_id"):
        return _hinted_run(config)  # read with the config: one round trip less per delivery
    return _same_queued(config, branch, force)


def _hinted_run(config: SyncConfig) -> SyncRun | None:
    if config.queued_run_id is None:
        return None
    return SyncRun(id=config.queued_run_id, org_id=config.org_id, config=config,
                   repository_id=config.repository_id, status=SyncRun.Status.QUEUED,
                   branch=config.branch, direction=config.direction,
                   enqueued_at=config.queued_enqueued_at)


def _same_queued(config: SyncConfig, branch: str, force: bool) -> SyncRun | None:
    return SyncRun.objects.filter(
        config=config, status=SyncRun.Status.QUEUED, branch=branch, direction=config.direction,
        force=force,
    ).order_by("created_at").first()


def _claim(run_id: str, worker: str) -> SyncRun | None:
    now = timezone.now()
    with transaction.atomic():
        run = SyncRun.objects.select_for_update(no_key=True).filter(pk=run_id).first()
        if run is None or run.finished:
            return None  # deleted, or a duplicate delivery of a finished run
        Repository.objects.select_for_update().filter(pk=run.repository_id).first()
        if run.status == SyncRun.Status.RUNNING:
            if not worker_gone(run.heartbeat_at, run.worker_process, now):
                raise Busy()  # another delivery of this very task is still working on it
            if not lost_worker(run):  # its worker died: take it over, unless it keeps killing them
                return None
        others = SyncRun.objects.filter(repository_id=run.repository_id,
                                        status=SyncRun.Status.RUNNING).exclude(pk=run.pk)
        if any(not worker_gone(o.heartbeat_at, o.worker_process, now)
               for o in others.only("heartbeat_at", "worker_process")):
            raise Busy()
        run.status, run.worker = SyncRun.Status.RUNNING, f"{worker}#{uuid.uuid4().hex[:12]}"
        run.worker_process = this_process()
        run.started_at = run.started_at or now
        run.heartbeat_at, run.attempts = now, run.attempts + 1
        run.save(update_fields=["status", "worker", "worker_process", "started_at",
                                "heartbeat_at", "attempts", "lost_count"])
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
    with heartbeat(SyncRun, run.pk, claim=run.worker):
        return _execute_claimed(run)


def _execute_claimed(run: SyncRun) -> SyncRun:
    config = until_database_is_back(
        lambda: SyncConfig.objects.select_related("repository", "connection").get(pk=run.config_id))
    state = until_database_is_back(lambda: sync_state_for(config=config, branch=run.branch))
    try:
        result = executor.execute(config, run, state)
    except CoregitError as exc:
        if _transient(exc) and run.attempts < MAX_ATTEMPTS:
            countdown = backoff(run.attempts, getattr(exc, "retry_after", None))
            requeue(run, exc, countdown)
            raise RetryLater(countdown=countdown, reason=exc.message) from None
        return fail(run, config, exc)
    except Exception:
        logger.exception("sync run %s failed unexpectedly", run.pk)
        return fail(run, config, CoregitError("Internal error while syncing; see the logs"))
    return succeed(run, config, result)


def _transient(exc: CoregitError) -> bool:
    # A ref moved under us (a push raced the run, or the ref lock was held): the next attempt
    # starts from the new state, so it is retried like a provider hiccup.
    return bool(getattr(exc, "transient", False)) or isinstance(exc, RefConflict)


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never sooner than the provider asked."""
    base = min(600.0, 2.0 ** attempt * 5)
    delay = random.uniform(base / 2, base)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0.0)


def busy_countdown(retries: int) -> float:
    """Waiting behind a live run: look again soon, then back off up to two heartbeats."""
    cap = max(5.0, 2 * heartbeat_interval())
    base = min(cap, 1.5 ** retries)
    return random.uniform(base / 2, base)  # noqa: S311 - jitter, not security
