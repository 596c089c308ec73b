"""Redis restarted without persistence while a run executes and another waits in the queue: the
worker reconnects, publishes the queued run again, and both finish (no reaper tick needed)."""

import socket
import subprocess
import time
from contextlib import contextmanager

import pytest
import redis

from sync.models import SyncConfig
from sync.run_services import sync_run_request
from tests.fixtures import publish_to
from tests.sync.conftest import git_config, git_remote, repo  # noqa: F401 - fixtures
from tests.workers.prefork import prefork_worker
from tests.workers.test_worker_crash import _finished, _running, _wait, held_import  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_server(port: int, tmp_path):
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port)
    try:
        _wait(lambda: _pings(client), seconds=60, what="redis-server")
        yield client
    finally:
        process.terminate()
        process.wait(30)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def test_a_queued_run_survives_a_redis_restart_without_persistence(repo, held_import,  # noqa: F811
                                                                    tmp_path, _task_routes):
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = redis_server(port, tmp_path)
    server.__enter__()
    try:
        with publish_to(_task_routes, url), \
                prefork_worker(tmp_path, env={"CELERY_BROKER_URL": url}) as worker:
            config = SyncConfig.objects.get()
            running = sync_run_request(config=config, trigger="api")
            _wait(lambda: _running(running.pk), what="the first run to start")
            waiting = sync_run_request(config=config, trigger="api", force=True)
            server.__exit__(None, None, None)  # every message Redis held is gone
            server = redis_server(port, tmp_path)
            server.__enter__()
            restarted = time.monotonic()
            # The worker notices, reconnects, and drops the messages it had reserved.
            _wait(lambda: worker.output().count("Connected to redis:") >= 2, seconds=180,
                  what="the worker to reconnect")
            held_import.release()
            done = [_wait(lambda pk=pk: _finished(pk), what=f"run {pk} to finish", seconds=180)
                    for pk in (running.pk, waiting.pk)]
            print(f"\nRedis restart -> both runs finished in {time.monotonic() - restarted:.1f}s")
            assert [r.status for r in done] == ["success", "skipped"], worker.output()[-3000:]
    finally:
        server.__exit__(None, None, None)
