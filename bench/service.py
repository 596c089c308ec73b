"""The service as ``make run`` starts it (scripts/run.sh: gunicorn + a separate Celery worker with
``--pool threads``), on the embedded default or on PostgreSQL + Redis, for end-to-end benchmarks.

The Redis variant uses a database and a task queue named for the benchmark and the session's
``COREGIT_TEST_ID`` (``bench_e2e_<id>``, ``celery-bench-e2e-<id>``) through a one-line settings
module written next to the data directory, so it never consumes another session's tasks, nor
drops another session's database. ``code_root`` runs another checkout of the project (the
"before" figures) with this checkout's virtualenv.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.fleet_db import session_name
from tests.support.make_run import Running, free_port, started, terminal_env
from tests.support.processes import children_of

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
# Named for the session: the setup drops the database WITH (FORCE) and deletes the queue, so a
# shared name would break another session's run of this benchmark.
PG_DB = session_name("bench_e2e")
REDIS = "redis://127.0.0.1:6379/0"
QUEUE = session_name("celery-bench-e2e", "-")
SHIM = "coregit_bench_e2e_settings"


@dataclass
class Service:
    run: Running
    broker: str
    key: str

    @property
    def base(self) -> str:
        return self.run.base

    def worker_pid(self) -> int:
        """The Celery worker process (a child of scripts/run.sh, in make's process group)."""
        todo = [self.run.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(part.endswith(b"/celery") for part in cmd[:2]):
                return pid
            todo += children_of(pid)
        raise RuntimeError("no Celery worker under scripts/run.sh")

    def run_times(self, run_id: str) -> tuple[float, float, float]:
        """created_at, started_at, completed_at of a run (epoch seconds, microsecond precision;
        the API answers whole seconds)."""
        sql = "SELECT created_at, started_at, completed_at FROM sync_syncrun WHERE id = %s"
        if self.broker == "embedded":
            db = sqlite3.connect(f"file:{self.run.data / 'db.sqlite3'}?mode=ro", uri=True)
            with contextlib.closing(db):
                row = db.execute(sql.replace("%s", "?"), (run_id,)).fetchone()
            row = [datetime.fromisoformat(v).replace(tzinfo=UTC) for v in row]
        else:
            import psycopg

            with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB) as db:
                row = db.execute(sql, (run_id,)).fetchone()
        return tuple(v.timestamp() for v in row)


def _fresh_postgres_and_queue() -> None:
    import psycopg
    import redis

    with psycopg.connect(PG_ADMIN, autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        db.execute(f"CREATE DATABASE {PG_DB}")
    redis.Redis.from_url(REDIS).delete(QUEUE)


@contextlib.contextmanager
def service(tmp: Path, broker: str, *, code_root: Path = ROOT,
            extra_env: dict[str, str] | None = None) -> Iterator[Service]:
    """Start scripts/run.sh from ``code_root`` on a fresh data directory; stop it afterwards."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "home").mkdir(exist_ok=True)
    port = free_port()
    env = terminal_env(tmp / "home", COREGIT_DATA_DIR=str(tmp / "data"), HOST="127.0.0.1",
                       PORT=str(port), LOG_LEVEL="WARNING", VENV=str(ROOT / ".venv"),
                       PYTHONPATH=f"{code_root}:{tmp}",
                       COREGIT_SYNC_WAIT_SECONDS="1800")  # a 1 GB import waits in one request
    env.pop("COREGIT_TEST_ID", None)
    if broker == "redis":
        _fresh_postgres_and_queue()
        (tmp / f"{SHIM}.py").write_text(
            "from coregit_project.settings import *  # noqa: F403\n"
            f"CELERY_TASK_DEFAULT_QUEUE = {QUEUE!r}\n")
        env.update(DATABASE_URL=PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB,
                   CELERY_BROKER_URL=REDIS, DJANGO_SETTINGS_MODULE=SHIM)
    env.update(extra_env or {})
    try:
        with started(["bash", "scripts/run.sh"], code_root, env, tmp,
                     f"http://127.0.0.1:{port}") as run:
            key = (run.data / "demo-master-key").read_text().strip()
            yield Service(run, broker, key)
    finally:
        if broker == "redis":
            import redis

            redis.Redis.from_url(REDIS).delete(QUEUE)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
