from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value

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


def webhook_candidates(*, provider: str, config_id: str | None, remote: str, delivery_id: str,
                       push_key: str) -> list[SyncConfig]:
    """The configs a delivery may be for: the one its URL names, else those following the
    repository its (unverified) payload names. Each carries what intake needs to answer most
    deliveries with no other read, taken in this one query: ``seen_delivery`` (this delivery id
    is recorded), ``seen_push`` (the push ``hinted_push_key`` is), and the import run already
    queued for the config's branch (``queued_run_id``, ``queued_enqueued_at``; None if none)."""
    qs = SyncConfig.objects.filter(provider=provider)  # verifying needs the row alone
    if config_id:
        qs = qs.filter(id=config_id)
    elif provider == "git" or not remote:  # a generic config's URL always names it
        return []
    else:
        qs = qs.filter(remote__iexact=remote)
    queued = SyncRun.objects.filter(
        config=OuterRef("pk"), status=SyncRun.Status.QUEUED, branch=OuterRef("branch"),
        direction=OuterRef("direction"), force=False,
    ).order_by("created_at")
    pushes = WebhookDelivery.objects.filter(config=OuterRef("pk"), push_key=push_key)
    configs = list(qs.annotate(
        seen_delivery=Exists(WebhookDelivery.objects.filter(
            provider=provider, config=OuterRef("pk"), delivery_id=delivery_id)),
        seen_push=Exists(pushes) if push_key else Value(False),
        queued_run_id=Subquery(queued.values("id")[:1]),
        queued_enqueued_at=Subquery(queued.values("enqueued_at")[:1]),
    ))
    for config in configs:
        config.hinted_push_key = push_key
    return configs
