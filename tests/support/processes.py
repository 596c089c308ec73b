"""Real service processes for fault tests: Celery workers, beat, gunicorn, Redis, PostgreSQL.

Every process runs in its own session (process group), so a test can SIGKILL a worker's pool
child alone, or the whole worker at once, as the OOM killer or a lost machine would. Nothing here
sleeps for timing: waits poll a condition until a generous deadline.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], object], *, timeout: float, what: str, poll: float = 0.1):
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc: no psutil needed)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Process:
    """A command started in its own process group, its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    cwd: Path = ROOT
    proc: subprocess.Popen | None = None

    def start(self) -> Process:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill_group(self) -> None:
        """SIGKILL the whole process group at once (main process and every child)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=60)

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._close_log()
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
        except ProcessLookupError:
            pass
        self._close_log()

    def _close_log(self) -> None:
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def wait_log(self, text: str, *, timeout: float) -> None:
        def seen() -> bool:
            assert self.running(), f"{self.name} exited early:\n{self.log()[-3000:]}"
            return text in self.log()

        wait_until(seen, timeout=timeout, what=f"{self.name} to log {text!r}")


@dataclass
class ServiceEnv:
    """The environment every subprocess shares: same database, broker, queue and repo root."""

    database_url: str
    broker_url: str
    queue_id: str
    repo_root: str
    data_dir: Path
    extra: dict[str, str] = field(default_factory=dict)

    def env(self, **more: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "PYTEST_ADDOPTS"}}
        env.update(
            DJANGO_SETTINGS_MODULE="coregit_project.test_settings",
            DATABASE_URL=self.database_url, CELERY_BROKER_URL=self.broker_url,
            # test_settings derives the task queue from the test id: this one is ours alone.
            COREGIT_TEST_ID=self.queue_id, COREGIT_REPO_ROOT=self.repo_root,
            COREGIT_DATA_DIR=str(self.data_dir), COREGIT_ALLOW_PRIVATE_HOSTS="true",
            LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
        )
        env.update(self.extra)
        env.update(more)
        return env


# Runs a worker in a pid namespace of its own: to the others it looks like a worker on another
# machine, whose processes they cannot see (only its heartbeat tells whether it is alive).
ANOTHER_MACHINE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]


def celery_worker(senv: ServiceEnv, name: str, *, include: str = "", wrap: list[str] | None = None,
                  **env: str) -> Process:
    """A prefork worker with one pool child, as production runs it (no gossip or mingle delays)."""
    argv = [*(wrap or []), str(BIN / "celery"), "-A", "workers.celery", "worker", "-P", "prefork", "-c", "1",
            "-n", f"{name}@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
            "--without-heartbeat"]
    if include:
        argv += ["--include", include]
    log = senv.data_dir / f"{name}-{uuid.uuid4().hex[:8]}.log"  # a log of its own: "ready." is its
    return Process(name, argv, senv.env(**env), log)


def celery_beat(senv: ServiceEnv) -> Process:
    schedule = senv.data_dir / "beat-schedule"
    argv = [str(BIN / "celery"), "-A", "workers.celery", "beat", "--loglevel", "INFO",
            "--schedule", str(schedule), "--pidfile", ""]
    return Process("beat", argv, senv.env(), senv.data_dir / "beat.log")


def gunicorn(senv: ServiceEnv, port: int) -> Process:
    """The API as ``make run`` serves it: gunicorn, threads, persistent database connections."""
    argv = [str(BIN / "gunicorn"), "coregit_project.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", "1", "--threads", "4", "--timeout", "300"]
    return Process("gunicorn", argv, senv.env(COREGIT_PUBLIC_URL=f"http://127.0.0.1:{port}"),
                   senv.data_dir / "gunicorn.log")


def wait_healthy(api: Process, base_url: str, *, timeout: float = 90) -> None:
    def healthy() -> bool:
        assert api.running(), f"the API exited early:\n{api.log()[-3000:]}"
        try:
            return requests.get(f"{base_url}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    wait_until(healthy, timeout=timeout, what="the API to answer /healthz", poll=0.2)


class RedisServer:
    """Our own ``redis-server`` on a free port, restartable, with or without persistence."""

    def __init__(self, workdir: Path, *, persistent: bool) -> None:
        self.dir, self.persistent, self.port = workdir, persistent, free_port()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                str(self.dir), "--save", ""]
        argv += (["--appendonly", "yes", "--appendfsync", "always"] if self.persistent
                 else ["--appendonly", "no"])
        log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        wait_until(self.ping, timeout=30, what="redis-server to answer PING")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """Stop as a crash would: no final save beyond what persistence already wrote."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class PostgresCluster:
    """Our own PostgreSQL cluster (initdb/pg_ctl as the ``postgres`` user) on a free port."""

    def __init__(self) -> None:
        self.bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="coregit-faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:  # the server refuses to run as root: the cluster is postgres's
            shutil.chown(self.dir, "postgres", "postgres")

    def _as_postgres(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(argv)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, timeout=180, cwd=self.dir)
        if check and result.returncode != 0:
            raise AssertionError(f"{argv[0]} failed: {result.stdout.decode()}{result.stderr.decode()}")
        return result

    def init(self) -> None:
        self._as_postgres(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                          "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir}"
                " -c fsync=off -c max_connections=60")
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                          str(self.dir / "pg.log"), "-w", "-t", "120", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                          "-t", "120", "stop", check=False)

    def createdb(self, name: str) -> str:
        self._as_postgres(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                          "-U", "postgres", name)
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
