"""How many `wait: true` triggers one API process holds open at once.

A waiting trigger holds one of the process's request threads until its run ends (up to
``COREGIT_SYNC_WAIT_SECONDS``). Unbounded, a handful of them take every thread, and webhook
deliveries and ``/healthz`` queue behind runs that take minutes. So waits take a slot: at most
half of gunicorn's threads per process (``COREGIT_SYNC_WAIT_SLOTS`` overrides), and a trigger
that finds every slot taken is answered at once as ``wait: false`` would be (202 with the run).

gunicorn.conf.py tells this module the thread count once each worker process has started;
outside gunicorn (``runserver``, the test client) there is no cap unless the setting gives one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from django.conf import settings

_lock = threading.Lock()
_threads: int | None = None
_slots: threading.BoundedSemaphore | None = None
_limit: int | None = None


def serving_threads(threads: int) -> None:
    """Called by gunicorn's ``post_worker_init``: this process serves ``threads`` at a time."""
    global _threads, _slots, _limit
    with _lock:
        _threads, _slots, _limit = max(1, threads), None, None


def limit() -> int | None:
    """Waits this process may hold at once; None: unbounded."""
    configured = getattr(settings, "COREGIT_SYNC_WAIT_SLOTS", None)
    if configured is not None:
        return max(0, configured)
    # Half the threads, rounded down: with gunicorn's 4 threads, two always serve everything
    # else. One thread (a sync worker) cannot wait at all without blocking the whole process.
    return None if _threads is None else _threads // 2


def _semaphore(cap: int) -> threading.BoundedSemaphore:
    global _slots, _limit
    with _lock:
        if _slots is None or _limit != cap:
            _slots, _limit = threading.BoundedSemaphore(cap), cap
        return _slots


@contextlib.contextmanager
def wait_slot() -> Iterator[bool]:
    """``True`` while this request holds a slot (or waits are unbounded); ``False``: do not wait."""
    cap = limit()
    if cap is None:
        yield True
        return
    slots = _semaphore(cap)
    if not slots.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        slots.release()
