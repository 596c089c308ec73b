"""A worker bootstep: the node's main process records a heartbeat on start and every few seconds."""

import logging

from celery import bootsteps
from django.conf import settings

logger = logging.getLogger(__name__)


class WorkerHeartbeatStep(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def start(self, worker) -> None:
        self._name = worker.hostname
        self._beat()
        self._entry = worker.timer.call_repeatedly(float(settings.COREGIT_HEARTBEAT_SECONDS),
                                                   self._beat)

    def stop(self, worker) -> None:
        entry = getattr(self, "_entry", None)
        if entry is not None:
            entry.cancel()

    def _beat(self) -> None:
        from observability.heartbeat import worker_heartbeat_record

        try:
            worker_heartbeat_record(worker=self._name)
        except Exception:  # noqa: BLE001 - a missed beat shows as age; never stop the worker
            logger.warning("worker heartbeat failed", exc_info=True)
