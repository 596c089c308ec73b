"""Runs whose worker is gone come back; runs whose task message is lost are published again.

The reaper (Celery beat, every COREGIT_REAPER_SECONDS) re-queues a running run whose worker is gone
(stale heartbeat, or its process on this machine exited) and publishes its task again; after
COREGIT_RUN_MAX_ATTEMPTS lost workers the run ends in ``sync.worker_lost``. Each worker also
recovers when it (re)connects to the broker: a broker restarted without persistence has lost every
message, and a worker restarting after a crash finds the runs its dead processes held. Duplicate
messages are harmless: a claim ignores finished runs and waits behind live ones.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sync.liveness import machine_id, stale_after, worker_gone
from sync.models import SyncRun
from sync.run_finish import lost_worker
from sync.run_services import enqueue

logger = logging.getLogger(__name__)


def sync_runs_reap() -> dict[str, int]:
    """Re-queue (or give up on) runs whose worker is gone; publish again lost queued runs."""
    counts, requeued = _reap_lost()
    cutoff = timezone.now() - timedelta(seconds=settings.COREGIT_RUN_REPUBLISH_SECONDS)
    stray = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=cutoff)
    return {**counts, "republished": _republish(stray, skip=requeued)}


def sync_runs_recover() -> dict[str, int]:
    """A worker (re)connected to the broker: reap, then publish every queued run again."""
    counts, requeued = _reap_lost()
    return {**counts, "republished": _republish(Q(), skip=requeued)}


def _reap_lost() -> tuple[dict[str, int], set[str]]:
    outcomes = {pk: _reap(pk) for pk in _suspect_runs()}
    requeued = {pk for pk, outcome in outcomes.items() if outcome == "requeued"}
    failed = sum(outcome == "failed" for outcome in outcomes.values())
    return {"lost": len(requeued) + failed, "failed": failed}, requeued


def _suspect_runs() -> list[str]:
    suspect = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=timezone.now() - stale_after())
    if machine_id():
        suspect |= Q(worker_process__startswith=f"{machine_id()}:")  # its process may have exited
    return list(SyncRun.objects.filter(suspect, status=SyncRun.Status.RUNNING)
                .values_list("pk", flat=True))


def _reap(pk: str) -> str | None:
    with transaction.atomic():
        run = (SyncRun.objects.select_for_update(skip_locked=True)
               .filter(pk=pk, status=SyncRun.Status.RUNNING).first())
        if run is None or not worker_gone(run.heartbeat_at, run.worker_process):
            return None  # re-checked under the lock: it finished, or it is alive after all
        if not lost_worker(run):
            logger.warning("run %s lost its worker %d times; giving up", pk, run.lost_count)
            return "failed"
        logger.warning("run %s lost its worker (%s); re-queuing it", pk, run.worker)
        run.status, run.worker, run.worker_process = SyncRun.Status.QUEUED, "", ""
        run.message = (f"The worker running this sync was lost; retrying (attempt "
                       f"{run.lost_count + 1} of {settings.COREGIT_RUN_MAX_ATTEMPTS})")
        run.save(update_fields=["status", "worker", "worker_process", "message", "lost_count"])
        enqueue(run)
    return "requeued"


def _republish(which: Q, *, skip: set[str]) -> int:
    count = 0
    now = timezone.now()
    queued = SyncRun.objects.filter(which, status=SyncRun.Status.QUEUED).exclude(pk__in=skip)
    for pk in queued.values_list("pk", flat=True):
        with transaction.atomic():
            run = (SyncRun.objects.select_for_update(skip_locked=True)
                   .filter(which, pk=pk, status=SyncRun.Status.QUEUED).first())
            if run is None:
                continue
            due_later = run.enqueued_at is not None and run.enqueued_at > now
            enqueue(run, eta=run.enqueued_at if due_later else None)  # a retry keeps its due time
        count += 1
    return count
