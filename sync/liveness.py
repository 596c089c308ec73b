"""Is a run's worker still alive? Its heartbeat says so, and on the same machine so does its process.

A claimed run records the process that holds it as ``<machine>:<pid>``. The machine id is the
kernel's boot id plus the process's pid namespace, so two containers (separate pid namespaces) or
two boots never count as the same machine; a process on the same machine can then see at once that
the claim's process has exited, instead of waiting for its heartbeat to go stale. A reused pid only
makes a dead worker look alive, which falls back to the heartbeat: never the other way round.
"""

from __future__ import annotations

import functools
import os
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def heartbeat_interval() -> float:
    return float(settings.COREGIT_HEARTBEAT_SECONDS)


def stale_after() -> timedelta:
    return timedelta(seconds=settings.COREGIT_RUN_STALE_SECONDS)


@functools.cache
def machine_id() -> str:
    """This machine and pid namespace, or "" where that cannot be told (then: heartbeat only)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        pid_ns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{boot[:13]}-{pid_ns}"


def this_process() -> str:
    machine = machine_id()
    return f"{machine}:{os.getpid()}" if machine else ""


def process_exited(process: str) -> bool:
    """True only when ``process`` ran on this machine and no longer exists."""
    machine, _, pid = process.rpartition(":")
    if not machine or machine != machine_id() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    """An exited child its parent has not reaped yet still answers signal 0."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0:1] == ["Z"]


def worker_gone(heartbeat_at: datetime | None, process: str, now: datetime | None = None) -> bool:
    """The claim's worker is gone: its heartbeat is stale, or its process here has exited."""
    now = now or timezone.now()
    if heartbeat_at is None or heartbeat_at < now - stale_after():
        return True
    return process_exited(process)
