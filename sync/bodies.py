"""Response bodies, shaped exactly as seed sync-api.txt (plus the SPEC's extensions)."""

from core.fmt import iso
from sync.models import SyncConfig, SyncRun
from sync.selectors import sync_state_for
from sync.webhook_secret_services import generic_webhook_url


def config_body(config: SyncConfig, *, created: bool = False) -> dict:
    body = {
        "id": config.id,
        "connection_id": config.connection_id,
        "provider": config.provider,
        "remote": config.remote,
        "branch": config.branch,
        "direction": config.direction,
        "auto_sync": config.auto_sync,
        "overwrite_diverged": config.overwrite_diverged,
        "poll_interval_minutes": config.poll_interval_minutes,
        "webhook_id": config.webhook_id,
        "mode": config.mode,
        "branches": config.branch_patterns,
        "tags": config.tags,
        "prune": config.prune,
    }
    if config.provider == SyncConfig.Provider.GIT:  # to paste into the host's settings
        body["webhook_url"] = generic_webhook_url(config)
    if created:
        return {**body, "repo_id": config.repository_id}
    state = sync_state_for(config=config, branch=config.branch)
    conn = config.connection
    return {
        **body,
        "last_synced_sha": state.last_remote_sha if state else None,
        "last_synced_at": iso(config.last_synced_at),
        "last_error": config.last_error,
        "auto_sync_paused": config.auto_sync_paused,
        "connection": ({"label": conn.label, "external_username": conn.external_username}
                       if conn else None),
    }


def trigger_body(run: SyncRun) -> dict:
    return {
        "synced": run.status == SyncRun.Status.SUCCESS,
        "remote_sha": run.remote_sha,
        "commit_sha": run.commit_sha if run.status == SyncRun.Status.SUCCESS else None,
        "files_changed": run.files_changed,
        "deleted": run.deleted,
        "direction": run.direction,
        "run_id": run.id,
        **_refs(run),
        **warnings_of(run),
    }


def run_body(run: SyncRun) -> dict:
    return {
        "id": run.id,
        "status": run.status,
        "message": run.message,
        "remote_sha": run.remote_sha,
        "commit_sha": run.commit_sha if run.status == SyncRun.Status.SUCCESS else None,
        "trigger": run.trigger,
        "direction": run.direction,
        "branch": run.branch,
        "files_changed": run.files_changed,
        "deleted": run.deleted,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "created_at": iso(run.created_at),
        "progress": run.progress,
        "error_code": run.error_code or None,
        **_refs(run),
        "warnings": list(run.warnings or []),
    }


def warnings_of(run: SyncRun, *extra: str) -> dict:
    """``{"warnings": [...]}`` when the run (or the trigger, ``extra``) has any, else nothing:
    what could not be represented exactly, and a queue that could not be reached."""
    found = [*(run.warnings or []), *extra]
    return {"warnings": found} if found else {}


def _refs(run: SyncRun) -> dict:
    """Mirror runs list what happened to every ref; snapshot runs keep the seed's shape."""
    return {"refs": run.refs} if run.refs is not None else {}
