"""Gauges read from the database (and the broker) at scrape time: cheap aggregate queries.

They hold wherever the workers run: every worker writes to the same database, so these series are
whole whichever process serves the scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from observability.models import WorkerHeartbeat
from sync.models import SyncConfig, SyncRun

logger = logging.getLogger(__name__)
# A worker silent this long has gone away for good (or was renamed): it is no longer listed.
FORGET_WORKERS_AFTER = timedelta(hours=1)
# kombu's Redis transport keeps one list per priority step: "celery", "celery\x06\x163", ...
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield self._runs()
        yield self._oldest_queued()
        yield self._paused()
        yield from self._workers()
        depth = self._queue_depth()
        if depth is not None:
            yield depth

    def _runs(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("coregit_sync_runs", "Sync runs recorded, by status.",
                                   labels=["status", "provider", "direction"])
        rows = (SyncRun.objects.values("status", "config__provider", "direction")
                .annotate(n=Count("id")).order_by())
        for row in rows:
            provider = row["config__provider"] or "deleted"  # the config is gone, the run stays
            family.add_metric([row["status"], provider, row["direction"]], row["n"])
        return family

    def _oldest_queued(self) -> GaugeMetricFamily:
        oldest = SyncRun.objects.filter(status=SyncRun.Status.QUEUED).aggregate(
            at=Min("created_at"))["at"]
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        return GaugeMetricFamily("coregit_sync_oldest_queued_run_age_seconds",
                                 "Age of the oldest queued run (0 when none is queued).",
                                 value=max(age, 0.0))

    def _paused(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("coregit_sync_configs_paused",
                                   "Sync configs whose auto-sync is paused after failures.",
                                   labels=["provider"])
        counts = dict.fromkeys(SyncConfig.Provider.values, 0)
        rows = (SyncConfig.objects.filter(auto_sync_paused=True).values("provider")
                .annotate(n=Count("id")).order_by())
        counts.update({row["provider"]: row["n"] for row in rows})
        for provider, n in sorted(counts.items()):
            family.add_metric([provider], n)
        return family

    def _workers(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        ages = GaugeMetricFamily("coregit_worker_heartbeat_age_seconds",
                                 "Seconds since each Celery worker's last heartbeat.",
                                 labels=["worker"])
        live = 0
        stale = settings.COREGIT_RUN_STALE_SECONDS
        for beat in WorkerHeartbeat.objects.filter(beat_at__gte=now - FORGET_WORKERS_AFTER):
            age = max((now - beat.beat_at).total_seconds(), 0.0)
            ages.add_metric([beat.worker], age)
            live += age < stale
        yield ages
        yield GaugeMetricFamily("coregit_workers_live",
                                "Workers whose last heartbeat is fresher than "
                                "COREGIT_RUN_STALE_SECONDS.", value=live)

    def _queue_depth(self) -> GaugeMetricFamily | None:
        family = GaugeMetricFamily("coregit_queue_depth",
                                   "Task messages waiting in the broker queue (Redis LLEN); "
                                   "queued runs in the database on other brokers.",
                                   labels=["queue", "source"])
        queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
        if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
            depth = _redis_depth(settings.CELERY_BROKER_URL, queue)
            if depth is None:
                return None  # the broker did not answer: no value rather than a wrong one
            family.add_metric([queue, "redis"], depth)
        else:
            family.add_metric([queue, "database"],
                              SyncRun.objects.filter(status=SyncRun.Status.QUEUED).count())
        return family


def _redis_depth(url: str, queue: str) -> int | None:
    import redis

    names = [queue] + [f"{queue}{_PRIORITY_SEPARATOR}{step}" for step in _PRIORITY_STEPS[1:]]
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(name)
            return sum(pipe.execute())
    except redis.RedisError:
        logger.warning("queue depth: the broker did not answer", exc_info=True)
        return None
