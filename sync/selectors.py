from django.db.models import QuerySet

from core.errors import NotFound
from repos.models import Repository
from sync.models import SyncConfig, SyncRun, SyncState


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
