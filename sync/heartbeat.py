"""A background heartbeat so the reaper and other workers can tell a live run from a dead one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connection
from django.utils import timezone

INTERVAL_SECONDS = 30.0


@contextmanager
def heartbeat(model, pk: str, interval: float = INTERVAL_SECONDS) -> Iterator[None]:
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(interval):
                close_old_connections()
                model.objects.filter(pk=pk).update(heartbeat_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
