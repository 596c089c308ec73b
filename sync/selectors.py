from datetime import UTC, datetime

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import NotFound
from repos.models import Repository
from sync.models import SyncConfig, SyncRun, SyncState, WebhookDelivery


def sync_config_for_repo(*, repo: Repository) -> SyncConfig | None:
    return SyncConfig.objects.select_related("connection").filter(repository=repo).first()


def sync_config_get(*, repo: Repository, sync_id: str) -> SyncConfig:
    config = SyncConfig.objects.select_related("connection", "repository").filter(
        repository=repo, id=sync_id
    ).first()
    if config is None:
        raise NotFound("Sync config not found")
    return config


def sync_state_for(*, config: SyncConfig, branch: str) -> SyncState | None:
    return SyncState.objects.filter(config=config, branch=branch).first()


def sync_run_history(*, repo: Repository) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(repository=repo)


def sync_run_get(*, repo: Repository, run_id: str) -> SyncRun:
    run = SyncRun.objects.filter(repository=repo, id=run_id).first()
    if run is None:
        raise NotFound("Sync run not found")
    return run


def _candidates_sql(where: str) -> str:
    # Table names come from the models, never from input: every value is a parameter.
    config, run = SyncConfig._meta.db_table, SyncRun._meta.db_table
    delivery = WebhookDelivery._meta.db_table
    queued = (f'FROM {run} r WHERE r.config_id = c.id AND r.status = %s AND r.branch = c.branch '
              f'AND r.direction = c.direction AND r."force" = %s ORDER BY r.created_at LIMIT 1')
    return (
        f"SELECT c.*, "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {delivery} d WHERE d.config_id = c.id AND d.provider = %s "
        f"AND d.delivery_id = %s) AS seen_delivery, "
        f"EXISTS (SELECT 1 FROM {delivery} d WHERE d.config_id = c.id AND d.push_key = %s "
        f"AND d.push_key <> '') AS seen_push, "
        f"(SELECT r.id {queued}) AS queued_run_id, "
        f"(SELECT r.enqueued_at {queued}) AS queued_enqueued_at "
        f"FROM {config} c WHERE c.provider = %s AND {where}")


# Written out once: intake runs it for every delivery, and building it with the ORM (two
# subqueries, two EXISTS) cost more CPU than the rest of the request together.
_BY_ID = _candidates_sql("c.id = %s")
_BY_REMOTE = _candidates_sql("UPPER(c.remote) = UPPER(%s)")


def webhook_candidates(*, provider: str, config_id: str | None, remote: str, delivery_id: str,
                       push_key: str) -> list[SyncConfig]:
    """The configs a delivery may be for: the one its URL names, else those following the
    repository its (unverified) payload names. Each carries what intake needs to answer most
    deliveries with no other read, taken in this one query: ``seen_delivery`` (this delivery id
    is recorded), ``seen_push`` (the push ``hinted_push_key`` is), and the import run already
    queued for the config's branch (``queued_run_id``, ``queued_enqueued_at``; None if none)."""
    if config_id:
        sql, key = _BY_ID, config_id
    elif provider != "git" and remote:  # a generic config's URL always names it
        sql, key = _BY_REMOTE, remote
    else:
        return []
    queued = [SyncRun.Status.QUEUED.value, False]
    configs = list(SyncConfig.objects.raw(
        sql, [provider, delivery_id, push_key, *queued, *queued, provider, key]))
    for config in configs:
        config.seen_delivery, config.seen_push = bool(config.seen_delivery), bool(config.seen_push)
        config.queued_enqueued_at = _as_datetime(config.queued_enqueued_at)
        config.hinted_push_key = push_key
    return configs


def _as_datetime(value: datetime | str | None) -> datetime | None:
    """A raw column off SQLite is text; PostgreSQL's is a datetime already."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value
