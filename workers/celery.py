"""The Celery application; tasks live in workers/tasks.py and hold no logic."""

import logging
import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coregit_project.settings")
logger = logging.getLogger(__name__)

app = Celery("coregit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"])


class RecoverSyncRuns(bootsteps.StartStopStep):
    """Each time this worker (re)connects to the broker, recover runs without a live message.

    A broker restarted without persistence has lost every queued message, and a worker restarted
    after a crash finds the runs its dead processes held: waiting for the reaper's next tick (or a
    stale heartbeat) would leave them idle for nothing.
    """

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def start(self, consumer) -> None:
        from django.db import connection

        from sync.run_reaper import sync_runs_recover

        try:
            logger.info("recovered sync runs: %s", sync_runs_recover())
        except Exception:  # noqa: BLE001 - the periodic reaper catches up; never stop the worker
            logger.warning("could not recover sync runs at connect", exc_info=True)
        finally:
            connection.close()  # the main process forks pool processes: keep no connection open


app.steps["consumer"].add(RecoverSyncRuns)

from workers.heartbeat_step import WorkerHeartbeatStep  # noqa: E402

app.steps["worker"].add(WorkerHeartbeatStep)
