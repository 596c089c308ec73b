"""Records a running sync's progress on its run row, at most once per interval.

The engine reports through ``sync.engine.progress`` (phase changes and counters, possibly from
several threads); the recorder only updates a dict under a lock, and its own thread writes the
row when something changed, so the engine never waits for the database. The write is a separate
UPDATE of the ``progress`` column alone, conditioned on the run's claim: it never touches the
status or claim fields, and a worker that lost its claim stops writing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.utils import timezone

from core.fmt import iso
from observability import series
from sync.engine.progress import ProgressTally
from sync.models import SyncRun

logger = logging.getLogger(__name__)
INTERVAL_SECONDS = 1.0


class RunProgressRecorder(ProgressTally):
    """A ``ProgressSink`` writing ``SyncRun.progress`` from its own thread (throttled)."""

    def __init__(self, run_id: str, claim: str, *, interval: float = INTERVAL_SECONDS,
                 provider: str = "", direction: str = "") -> None:
        super().__init__()
        self._rows = SyncRun.objects.filter(pk=run_id, worker=claim)
        self._interval = interval
        self._labels = (provider, direction)
        self.writes = 0

    def phase_ended(self, name: str, seconds: float) -> None:
        try:
            series.run_phase_ended(phase=name, provider=self._labels[0],
                                   direction=self._labels[1], seconds=seconds)
        except Exception:  # noqa: BLE001 - metrics are best effort; the run goes on
            logger.warning("observing the %s phase failed", name, exc_info=True)

    def flush(self) -> None:
        """Write the current figures if anything changed since the last write."""
        body = self.take()
        if body is None:
            return
        try:
            self._rows.update(progress={**body, "updated_at": iso(timezone.now())})
        except Exception:
            self.untake()
            raise
        self.writes += 1

    def _write_loop(self, stop: threading.Event) -> None:
        try:
            while not stop.wait(self._interval):
                try:
                    self.flush()
                except Exception:  # noqa: BLE001 - progress is best effort; the run goes on
                    logger.warning("recording progress failed", exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    @contextmanager
    def running(self) -> Iterator[RunProgressRecorder]:
        """Write every ``interval`` while the block runs, then the final figures once."""
        stop = threading.Event()
        thread = threading.Thread(target=self._write_loop, args=(stop,), daemon=True,
                                  name="run-progress")
        thread.start()
        try:
            yield self
        finally:
            self.end_phase()
            stop.set()
            thread.join(timeout=10)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the outcome is recorded even if this is not
                logger.warning("recording final progress failed", exc_info=True)
