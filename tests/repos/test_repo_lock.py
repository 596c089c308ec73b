"""The repository lock waits a bounded time for a hung holder, then gives a retryable conflict."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from core.errors import RefConflict
from repos import storage

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()  # hung until the test closes our stdin
"""


def test_a_hung_holder_makes_the_lock_give_up_with_a_transient_conflict(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / storage.LOCK_FILE)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with pytest.raises(RefConflict) as raised, storage.repo_lock(tmp_path, timeout=1):
            pytest.fail("the lock was taken although another process holds it")
        assert time.monotonic() - started >= 1  # it did wait its time first
        assert raised.value.transient and "locked by another operation" in raised.value.message
    finally:
        holder.stdin.close()
        holder.wait(60)
    with storage.repo_lock(tmp_path, timeout=60):  # released: taken again at once
        pass


def test_the_default_wait_is_bounded():
    assert 0 < storage.LOCK_WAIT_SECONDS <= 600


def test_sync_runs_have_celery_time_limits_from_the_settings(settings):
    from workers.celery import app
    from workers.tasks import sync_run

    app.finalize()
    task = app.tasks[sync_run.name]
    assert task.soft_time_limit == settings.COREGIT_RUN_SOFT_TIME_LIMIT >= 3600
    assert task.time_limit == settings.COREGIT_RUN_TIME_LIMIT > task.soft_time_limit
