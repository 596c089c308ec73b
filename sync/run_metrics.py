"""Observing a finished run: its final status and how long each phase took (observability/)."""

from __future__ import annotations

from observability import series
from sync.models import SyncRun


def run_observe(run_id: str) -> None:
    """Called once a run's end is committed; read back from the row, so it counts what is stored."""
    row = (SyncRun.objects.filter(pk=run_id)
           .values("status", "direction", "created_at", "started_at", "completed_at",
                   "config__provider").first())
    if row is None or row["status"] not in SyncRun.FINISHED:
        return
    created, started, completed = row["created_at"], row["started_at"], row["completed_at"]
    phases: dict[str, float] = {}
    if started:
        phases["queued"] = (started - created).total_seconds()
        if completed:
            phases["running"] = (completed - started).total_seconds()
    if completed:
        phases["total"] = (completed - created).total_seconds()
    series.run_finished(status=row["status"], provider=row["config__provider"] or "deleted",
                        direction=row["direction"], phases=phases)
