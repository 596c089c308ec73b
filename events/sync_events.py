"""The sync domain's events, built from its rows and emitted once the transaction commits.

The sync code calls one function at each point where a run ends or auto-sync pauses or resumes;
the event goes out only if that change commits (``transaction.on_commit``).
"""

from __future__ import annotations

from events.services import event_emit_on_commit


def _repository(repository_id: str) -> dict:
    from repos.models import Repository

    repo = Repository.objects.filter(pk=repository_id).only("id", "namespace", "slug").first()
    if repo is None:
        return {"id": repository_id}
    return {"id": repo.id, "namespace": repo.namespace or None, "slug": repo.slug}


def run_finished(run) -> None:
    """``sync.run.succeeded`` or ``sync.run.failed`` (and ``sync.diverged`` for a divergence)."""
    from core.errors import Diverged
    from sync.bodies import run_body

    data = {"run": {**run_body(run), "error_code": run.error_code or None},
            "config_id": run.config_id, "repository": _repository(run.repository_id)}
    failed = run.status == "error"
    event_emit_on_commit(org_id=run.org_id, data=data,
                         event_type="sync.run.failed" if failed else "sync.run.succeeded")
    if failed and run.error_code == Diverged.code:
        event_emit_on_commit(org_id=run.org_id, event_type="sync.diverged", data=data)


def _config_data(config, **extra) -> dict:
    return {"config_id": config.id, "repository": _repository(config.repository_id),
            "remote": config.remote, "branch": config.branch, "direction": config.direction,
            **extra}


def auto_sync_paused(config) -> None:
    event_emit_on_commit(org_id=config.org_id, event_type="sync.auto_sync_paused",
                         data=_config_data(config, consecutive_failures=config.consecutive_failures,
                                           last_error=config.last_error))


def auto_sync_resumed(config, *, reason: str) -> None:
    event_emit_on_commit(org_id=config.org_id, event_type="sync.auto_sync_resumed",
                         data=_config_data(config, reason=reason))
