"""The shared content pacer: one moving window per credential, across worker processes.

Each storage (Redis, and the SQLite file used when the broker is not Redis) is exercised by two
real processes acquiring at once; the times they were let through must never put more than the
limit in any window. Times are taken right after ``acquire()`` returns, a little after the storage
recorded them, so a window is checked a small slack shorter than the period.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid

import pytest
from limits import parse

from connections.providers.pacing import (
    GITHUB_CONTENT_LIMIT,
    SharedPacer,
    pacing_key,
    window_storage,
)
from tests.support.windows import max_in_window

LIMIT, PERIOD, PER_PROCESS = 4, 3.0, 8
SLACK = 0.8  # seconds a process may be held up between the storage's record and its own log


def _acquire_many(broker: str, data_dir: str, key: str, out) -> None:
    import time

    pacer = SharedPacer(window_storage(broker, data_dir), key, limit=f"{LIMIT} per 3 seconds")
    for _ in range(PER_PROCESS):
        pacer.acquire()
        out.put(time.time())


@pytest.mark.parametrize("backend", ["redis", "sqlite"])
def test_two_processes_share_one_window(backend, tmp_path):
    broker = os.environ.get("CELERY_BROKER_URL", "") if backend == "redis" else "filesystem://"
    if backend == "redis" and not broker.startswith("redis://"):
        pytest.fail("the Redis pacer test needs CELERY_BROKER_URL=redis://… (make test sets it)")
    key = f"test:{uuid.uuid4().hex}"
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_acquire_many, args=(broker, str(tmp_path), key, out))
             for _ in range(2)]
    for p in procs:
        p.start()
    times = [out.get(timeout=120) for _ in range(2 * PER_PROCESS)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    assert max_in_window(times, PERIOD - SLACK) <= LIMIT
    # 16 hits at 4 per 3 s need at least three full periods: only a shared window makes the two
    # processes wait for each other (alone, each would finish its 8 in about one period).
    assert max(times) - min(times) >= 3 * PERIOD - SLACK


def test_storage_follows_the_broker(tmp_path):
    from limits.storage import RedisStorage

    from connections.providers.pacing import SQLiteWindowStorage

    assert isinstance(window_storage("redis://127.0.0.1:6379/0", tmp_path), RedisStorage)
    fallback = window_storage("filesystem://", tmp_path)
    assert isinstance(fallback, SQLiteWindowStorage)
    assert os.path.dirname(fallback.path) == str(tmp_path)


def test_the_window_key_reveals_no_credential():
    secret_hash = "9f" * 32
    key = pacing_key("github", secret_hash)
    assert secret_hash not in key and secret_hash[:16] not in key
    assert key == pacing_key("github", secret_hash)  # one window per credential
    assert key != pacing_key("github", "0" * 64) != pacing_key("gitlab", secret_hash)


def test_the_github_window_keeps_a_margin_under_githubs_rule():
    """GitHub refuses the 81st content-creating request in any 60 s. The pacer's window lets
    fewer through over a longer period (the export pacing test runs the same margin in seconds)."""
    item = parse(GITHUB_CONTENT_LIMIT)
    assert (item.amount, item.get_expiry()) == (80 - 2, 60 + 2)
