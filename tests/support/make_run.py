"""`make run` in a subprocess on a fresh data directory, as the README's user starts it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent.parent
# Condition-based waits with deadlines generous enough for a loaded 2-core machine: a healthy
# start takes seconds to a minute, so only a hang reaches them.
START_DEADLINE = 900.0
STOP_DEADLINE = 120.0
SERVICE_VARS = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "DEBUG",
                "COREGIT_ENCRYPTION_KEYS", "COREGIT_REPO_ROOT", "COREGIT_DATA_DIR",
                "COREGIT_PUBLIC_URL", "COREGIT_ALLOW_PRIVATE_HOSTS", "DJANGO_SETTINGS_MODULE",
                "HOST", "PORT", "XDG_RUNTIME_DIR", "COREGIT_TEST_EMBEDDED",
                "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}  # a fresh terminal has none


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def terminal_env(home: Path, **extra: str) -> dict:
    """A fresh terminal: none of the service's variables set, a HOME of its own."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(HOME=str(home), **extra)
    return env


@dataclass
class Running:
    proc: subprocess.Popen
    data: Path
    log: Path
    base: str  # http://host:port

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_healthy(run: Running) -> dict:
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        assert run.proc.poll() is None, f"make run exited early:\n{run.output()[-3000:]}"
        try:
            resp = requests.get(f"{run.base}/healthz", timeout=30)
            if resp.status_code == 200:
                return resp.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"/healthz never answered 200:\n{run.output()[-3000:]}")


@contextlib.contextmanager
def make_run(tmp: Path, *, host: str = "127.0.0.1", port: int | None = None) -> Iterator[Running]:
    """Start `make run` with COREGIT_DATA_DIR=tmp/data, HOST and PORT; wait until it is healthy."""
    port = port or free_port(host)
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "home").mkdir(exist_ok=True)
    env = terminal_env(tmp / "home", COREGIT_DATA_DIR=str(tmp / "data"), HOST=host,
                       PORT=str(port), LOG_LEVEL="WARNING")
    with started(["make", "run"], ROOT, env, tmp, f"http://{host}:{port}") as run:
        yield run


@contextlib.contextmanager
def started(cmd: list[str], cwd: Path, env: dict, tmp: Path, base: str) -> Iterator[Running]:
    """Run ``cmd`` in a process group of its own (output in tmp/run.log, data in tmp/data), wait
    until ``base`` is healthy; stop the whole group afterwards."""
    log = tmp / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    run = Running(proc, tmp / "data", log, base)
    try:
        wait_healthy(run)
        yield run
    finally:
        stop(run)


def stop(run: Running) -> None:
    """SIGTERM the whole process group, and wait until gunicorn and the worker are gone too."""
    if _group_alive(run.proc.pid):
        os.killpg(run.proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_DEADLINE
    while _group_alive(run.proc.pid) and time.monotonic() < deadline:
        run.proc.poll()  # reap make itself
        time.sleep(0.2)
    if _group_alive(run.proc.pid):
        os.killpg(run.proc.pid, signal.SIGKILL)
    run.proc.wait()


def group_priorities(pgid: int, programs: tuple[str, ...]) -> dict[str, set[int]]:
    """The nice values of the group's processes whose command line names one of ``programs``."""
    out: dict[str, set[int]] = {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue  # not a process, or gone meanwhile
        # After the command: state, ppid, pgrp, ... nice is the 17th field.
        if int(fields[2]) != pgid:
            continue
        for program in programs:
            if f"/{program} " in command:
                out.setdefault(program, set()).add(int(fields[16]))
    return out


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
