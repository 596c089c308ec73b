"""A background heartbeat so the reaper and other workers can tell a live run from a dead one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connection
from django.utils import timezone

logger = logging.getLogger(__name__)
INTERVAL_SECONDS = 30.0


@contextmanager
def heartbeat(model, pk: str, interval: float = INTERVAL_SECONDS) -> Iterator[None]:
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    close_old_connections()
                    model.objects.filter(pk=pk).update(heartbeat_at=timezone.now())
                except Exception:  # noqa: BLE001 - a missed beat must not end the heartbeat
                    logger.warning("heartbeat of %s failed; retrying", pk, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
