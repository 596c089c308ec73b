"""A real Celery worker (prefork pool) in a subprocess, on the real Redis and the test database.

It reads its own queue (its default queue, so what it publishes itself, e.g. a reaper's re-publish,
comes back to it), and runs in its own process group so a test can SIGKILL the whole worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def prefork_queue() -> str:
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}-prefork"


def _env(extra: dict[str, str]) -> dict[str, str]:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    test_id = os.environ.get("COREGIT_TEST_ID", "")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "coregit_project.test_settings",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # test_settings names the default queue after the id: the worker's is prefork_queue().
        "COREGIT_TEST_ID": f"{test_id}-prefork" if test_id else "prefork",
        "COREGIT_REPO_ROOT": str(settings.COREGIT_REPO_ROOT),
        "COREGIT_DATA_DIR": str(settings.DATA_DIR),
        **extra,
    }


@dataclass
class PreforkWorker:
    process: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL the whole worker: its main process and its pool processes."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_ready(worker: PreforkWorker, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while " ready." not in worker.output():
        assert worker.process.poll() is None, worker.output()[-3000:]
        assert time.monotonic() < deadline, "the worker never became ready:\n" + worker.output()
        time.sleep(0.1)


@contextmanager
def prefork_worker(tmp_path: Path, *, concurrency: int = 1, beat: bool = False,
                   env: dict[str, str] | None = None,
                   prefix: tuple[str, ...] = ()) -> Iterator[PreforkWorker]:
    """``beat`` embeds Celery beat (the reaper's schedule); ``prefix`` wraps the command."""
    name = uuid.uuid4().hex[:8]
    log = tmp_path / f"worker-{name}.log"
    command = [*prefix, sys.executable, "-m", "celery", "-A", "workers.celery", "worker",
               "-P", "prefork", "-c", str(concurrency), "-Q", prefork_queue(),
               "--loglevel", "INFO", "-n", f"prefork-{name}@%h", "--without-mingle",
               "--without-gossip"]
    if beat:
        command += ["--beat", "--schedule", str(tmp_path / f"beat-{name}")]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=_env(env or {}), stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    worker = PreforkWorker(process, log)
    try:
        _wait_ready(worker)
        yield worker
    finally:
        if process.poll() is None:
            worker.kill()
