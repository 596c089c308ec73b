"""Run progress reported by the engine: phases and counters, to whatever sink the caller installs.

The engine stays Django-free: it calls ``phase()`` at phase changes and ``add()`` with counters;
by default nothing listens (a no-op). The caller (sync/executor.py) installs a sink for the
duration of a run with ``reporting(sink)``. A context variable carries the sink so the few call
sites need no extra parameters; work done on other threads (the GitHub blob pool) reports through
``count_requests``, whose hook holds the sink itself. Sinks must be cheap and thread-safe: they are
called on the hot path (every pack chunk received, every provider request).
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

import requests

RESOLVING, FETCHING, INDEXING = "resolving", "fetching", "indexing"
WRITING, UPLOADING, UPDATING_REFS = "writing", "uploading", "updating refs"
PHASES = (RESOLVING, FETCHING, INDEXING, WRITING, UPLOADING, UPDATING_REFS)


class ProgressSink(Protocol):
    def phase(self, name: str, **totals: int) -> None:
        """A new phase begins; ``totals`` are the figures it will reach, when known."""

    def add(self, **counts: int) -> None:
        """Add to running counters (``bytes_received``, ``objects_received``, ``requests``...)."""


class NullProgress:
    def phase(self, name: str, **totals: int) -> None:
        pass

    def add(self, **counts: int) -> None:
        pass


class ProgressTally:
    """A thread-safe sink that keeps the figures: the phase, the phases passed, the counters.

    ``take()`` hands out a copy when something changed since the last one (for a throttled writer).
    Each stretch of a phase is timed: when the phase changes (and at ``end_phase()``, when the run
    is over) ``phase_ended`` gets the phase left and its seconds; subclasses observe them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict = {"phase": None, "phases": []}
        self._dirty = False
        self._since: float | None = None  # when the current phase began (None: none open)

    def phase(self, name: str, **totals: int) -> None:
        ended = None
        with self._lock:
            if self._state["phase"] != name:
                ended = self._close_phase()
                self._state["phase"] = name
                self._state["phases"].append(name)
                self._since = time.monotonic()
            self._state.update(totals)
            self._dirty = True
        if ended:
            self.phase_ended(*ended)

    def end_phase(self) -> None:
        """The run is over: time the phase it ended in (the figures keep naming it)."""
        with self._lock:
            ended = self._close_phase()
        if ended:
            self.phase_ended(*ended)

    def _close_phase(self) -> tuple[str, float] | None:
        if self._since is None or self._state["phase"] is None:
            return None
        seconds, self._since = time.monotonic() - self._since, None
        return self._state["phase"], seconds

    def phase_ended(self, name: str, seconds: float) -> None:
        """A stretch of phase ``name`` lasted ``seconds`` (called outside the lock)."""

    def add(self, **counts: int) -> None:
        with self._lock:
            for key, value in counts.items():
                self._state[key] = self._state.get(key, 0) + value
            self._dirty = True

    def take(self) -> dict | None:
        with self._lock:
            if not self._dirty:
                return None
            self._dirty = False
            return {**self._state, "phases": list(self._state["phases"])}

    def untake(self) -> None:
        """The last ``take()`` was not written: hand the figures out again next time."""
        with self._lock:
            self._dirty = True


NULL = NullProgress()
_sink: ContextVar[ProgressSink] = ContextVar("coregit_progress", default=NULL)


def current() -> ProgressSink:
    return _sink.get()


@contextmanager
def reporting(sink: ProgressSink) -> Iterator[ProgressSink]:
    token = _sink.set(sink)
    try:
        yield sink
    finally:
        _sink.reset(token)


def phase(name: str, **totals: int) -> None:
    _sink.get().phase(name, **totals)


def add(**counts: int) -> None:
    _sink.get().add(**counts)


def count_requests(session: requests.Session, sink: ProgressSink | None = None) -> None:
    """Count every request ``session`` completes, and the request body bytes it sent."""
    target = sink or current()
    if isinstance(target, NullProgress):
        return

    def on_response(resp: requests.Response, *args, **kwargs) -> None:
        body = resp.request.body if resp.request is not None else None
        sent = len(body) if isinstance(body, bytes | str) else 0
        target.add(requests=1, bytes_sent=sent)

    session.hooks["response"].append(on_response)


class PackCounter:
    """Counts an incoming pack's bytes, and its object total once the 12-byte header is in."""

    def __init__(self) -> None:
        self._head = b""
        self.objects_total: int | None = None

    def received(self, data: bytes) -> None:
        sink = _sink.get()
        # Bytes first: whoever reads the figures never sees "fetching" with nothing received.
        sink.add(bytes_received=len(data))
        if self.objects_total is None and len(self._head) < 12:
            self._head += data[: 12 - len(self._head)]
            if len(self._head) == 12 and self._head[:4] == b"PACK":
                self.objects_total = struct.unpack(">I", self._head[8:12])[0]
                sink.phase(FETCHING, objects_total=self.objects_total)

    def indexed(self) -> None:
        if self.objects_total is not None:
            add(objects_received=self.objects_total)
