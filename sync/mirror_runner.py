"""Glue between a mirror-mode run and the Django-free mirror engine (import or export)."""

from __future__ import annotations

from sync import executor
from sync.engine import mirror_export, mirror_import
from sync.engine.mirror_refs import MirrorRequest
from sync.engine.types import SyncResult
from sync.models import SyncConfig, SyncRun, SyncState

REF_STATE_PREFIX = "refs/"  # mirror states are keyed by full ref name; snapshot ones by branch


def mirror_request(config: SyncConfig, run: SyncRun) -> MirrorRequest:
    return MirrorRequest(
        repo_path=config.repository.disk_path, remote=executor.remote_access(config),
        branch=run.branch, branches=config.branch_patterns, tags=config.tags, prune=config.prune,
        force=run.force or config.overwrite_diverged, remote_label=executor.remote_label(config),
        last_seen=ref_states(config),
    )


def execute_mirror(config: SyncConfig, run: SyncRun) -> SyncResult:
    engine = (mirror_import.run_mirror_import if run.direction == "import"
              else mirror_export.run_mirror_export)
    return engine(mirror_request(config, run), executor.git_session(config))


def ref_states(config: SyncConfig) -> dict[str, str]:
    """The remote value of every ref as this config last saw it."""
    rows = SyncState.objects.filter(config=config, branch__startswith=REF_STATE_PREFIX)
    return {row.branch: row.last_remote_sha for row in rows if row.last_remote_sha}


def record_ref_states(config: SyncConfig, refs: list[dict] | None) -> None:
    """After a mirror run (also one with refused refs): remember what each ref now is remotely."""
    for item in refs or []:
        if item["status"] == "diverged":
            continue  # left as it was: the last value seen stays the one to compare with
        if item["status"] == "deleted":
            SyncState.objects.filter(config=config, branch=item["ref"]).delete()
            continue
        SyncState.objects.update_or_create(
            config=config, branch=item["ref"],
            defaults={"last_remote_sha": item["new_sha"], "last_local_sha": item["new_sha"]})
