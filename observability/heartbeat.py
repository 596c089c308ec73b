"""Worker heartbeats: each worker node's main process upserts its row every few seconds."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from observability.models import WorkerHeartbeat


def worker_heartbeat_record(*, worker: str) -> None:
    try:
        WorkerHeartbeat.objects.update_or_create(worker=worker,
                                                 defaults={"beat_at": timezone.now()})
    finally:
        # The main process forks pool processes: it must hold no connection between beats.
        connection.close()
