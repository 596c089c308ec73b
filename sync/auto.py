"""Automatic triggers beyond webhooks: exports after a push, and scheduled polling imports."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Value,
)
from django.utils import timezone

from repos.models import Repository
from sync.engine.refspecs import RefFilter
from sync.models import SyncConfig, SyncRun
from sync.run_services import publish_after_commit, sync_run_request


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


def sync_poll_due(*, now: datetime | None = None) -> int:
    """Queue a scheduled import for each polling config with no run in its interval.

    One beat tick costs the same few queries whatever the size of the fleet: one selects (and
    locks) the due configs, by an anti-join on the runs' (config, created_at) index; one finds
    the queued runs they coalesce with; one inserts the new runs. The broker then gets one message
    per new run. Returns how many configs were due (new runs plus coalesced ones).
    """
    published = timezone.now()  # ``now`` (tests move it) decides what is due, not this stamp
    with transaction.atomic():
        configs = list(_due_configs(now or published))
        if not configs:
            return 0
        waiting = _queued_runs({c.pk for c in configs})
        fresh = [_scheduled_run(c, published) for c in configs if c.pk not in waiting]
        SyncRun.objects.bulk_create(fresh)
        lost = _lost_messages(list(waiting.values()), published)
        publish_after_commit(fresh + lost)
    return len(configs)


class _Minutes(Func):
    """An integer column of minutes as a duration (SQLite keeps durations in microseconds)."""

    template = "(%(expressions)s * INTERVAL '1 minute')"
    output_field = DurationField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(%(expressions)s * 60000000)", **extra)


def _due_configs(now: datetime):
    since = ExpressionWrapper(Value(now) - _Minutes(OuterRef("poll_interval_minutes")),
                              output_field=DateTimeField())
    recent = SyncRun.objects.filter(config=OuterRef("pk"), created_at__gte=since)
    # skip_locked: a config locked right now is being requested or updated; the next tick sees it.
    return (SyncConfig.objects.select_for_update(skip_locked=True)
            .filter(poll_interval_minutes__isnull=False, direction="import",
                    auto_sync_paused=False)
            .exclude(Exists(recent))
            .only("id", "org_id", "repository_id", "branch", "direction").order_by("pk"))


def _queued_runs(due: set[str]) -> dict[str, SyncRun]:
    """The queued run each due config would join, as ``sync_run_request`` would pick it.

    Read after the configs are locked, so a run queued meanwhile by a webhook is seen. Filtered
    by a join (not by a list of ids): the query stays one statement whatever the fleet size.
    """
    queued = (SyncRun.objects.filter(
        status=SyncRun.Status.QUEUED, force=False, config__poll_interval_minutes__isnull=False,
        config__direction="import", branch=F("config__branch"), direction=F("config__direction"))
        .only("id", "config_id", "enqueued_at").order_by("-created_at"))
    return {run.config_id: run for run in queued if run.config_id in due}  # the oldest wins


def _scheduled_run(config: SyncConfig, now: datetime) -> SyncRun:
    return SyncRun(org_id=config.org_id, config_id=config.pk, repository_id=config.repository_id,
                   trigger=SyncRun.Trigger.SCHEDULE, direction=config.direction,
                   branch=config.branch, enqueued_at=now)


def _lost_messages(runs: list[SyncRun], now: datetime) -> list[SyncRun]:
    """Coalesced runs whose task message looks lost are published again (claims dedupe)."""
    lost_after = now - timedelta(seconds=settings.COREGIT_RUN_REPUBLISH_SECONDS)
    lost = [r for r in runs if r.enqueued_at is None or r.enqueued_at < lost_after]
    if lost:
        SyncRun.objects.filter(pk__in=[r.pk for r in lost]).update(enqueued_at=now)
        for run in lost:
            run.enqueued_at = now
    return lost
