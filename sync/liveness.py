"""Is a run's worker still alive? Its heartbeat says so, and on the same machine so does its process.

A claimed run records the process that holds it as ``<machine>:<pid>+<start time>``. The machine id is the
kernel's boot id plus the process's pid namespace, so two containers (separate pid namespaces) or
two boots never count as the same machine; a process on the same machine can then see at once that
the claim's process has exited, instead of waiting for its heartbeat to go stale. Likewise a
process here that is still alive is not gone, however stale its heartbeat (a database outage longer
than the staleness stops heartbeats, not the run). The start time (since boot) tells a reused pid
from the claim's own process.
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
    if not machine:
        return ""
    started = _stat(os.getpid())
    return f"{machine}:{os.getpid()}" + (f"+{started[19]}" if started else "")


def _local_pid(process: str) -> tuple[int, str] | None:
    """(pid, start time or "") of ``process`` when it ran on this machine."""
    machine, _, rest = process.rpartition(":")
    pid, _, started = rest.partition("+")
    if not machine or machine != machine_id() or not pid.isdigit():
        return None
    return int(pid), started


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None if none."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _state(process: str) -> str:
    """"alive", "exited" or "unknown" (another machine, or not enough recorded to tell)."""
    local = _local_pid(process)
    if local is None:
        return "unknown"
    pid, started = local
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "exited"
    except PermissionError:
        return "unknown"  # it exists, under another user
    stat = _stat(pid)
    if stat is None or stat[0] == "Z":  # an exited child its parent has not reaped yet
        return "exited" if stat else "unknown"
    if not started:
        return "unknown"  # recorded without a start time: the pid may have been reused
    return "alive" if stat[19] == started else "exited"  # the pid was reused


def process_exited(process: str) -> bool:
    """True only when ``process`` ran on this machine and no longer exists."""
    return _state(process) == "exited"


def worker_gone(heartbeat_at: datetime | None, process: str, now: datetime | None = None) -> bool:
    """The claim's worker is gone: its process here has exited, or it is not known to be alive
    here and its heartbeat is stale."""
    state = _state(process)
    if state != "unknown":
        return state == "exited"
    now = now or timezone.now()
    return heartbeat_at is None or heartbeat_at < now - stale_after()
