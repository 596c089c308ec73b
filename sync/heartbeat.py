"""A background heartbeat so the reaper and other workers can tell a live run from a dead one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.utils import timezone

from sync.liveness import heartbeat_interval

logger = logging.getLogger(__name__)
RETRY_SECONDS = 1.0  # after a failed beat (database restarting): beat again as soon as it is back


@contextmanager
def heartbeat(model, pk: str, *, claim: str = "", interval: float | None = None) -> Iterator[None]:
    """Touch ``heartbeat_at`` of row ``pk`` every ``interval`` seconds while the block runs.

    With ``claim``, only while the row is still claimed by it: a worker whose run was taken over
    must not keep the new claim looking alive.
    """
    stop = threading.Event()
    every = interval if interval is not None else heartbeat_interval()
    rows = model.objects.filter(pk=pk, **({"worker": claim} if claim else {}))

    def beat() -> None:
        wait = every
        try:
            while not stop.wait(wait):
                try:
                    connection.close_if_unusable_or_obsolete()
                    rows.update(heartbeat_at=timezone.now())
                    wait = every
                except Exception:  # noqa: BLE001 - a missed beat must not end the heartbeat
                    logger.warning("heartbeat of %s failed; retrying", pk, exc_info=True)
                    connection.close()
                    wait = min(every, RETRY_SECONDS)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
