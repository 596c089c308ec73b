"""The one place the sync domain hands work to Celery (the domain never imports ``workers``
anywhere else)."""

from __future__ import annotations

from datetime import datetime


def publish_sync_run(run_id: str, *, eta: datetime | None = None) -> None:
    """Publish the task that executes ``run_id``; raises when the broker cannot be reached."""
    from workers.tasks import sync_run

    if eta is None:
        sync_run.delay(run_id)
    else:
        sync_run.apply_async((run_id,), eta=eta)
