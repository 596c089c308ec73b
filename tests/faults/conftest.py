"""Fault tests: real processes (gunicorn, prefork Celery workers, beat) on real PostgreSQL/Redis.

The processes read committed data, so every test here uses the transactional database. They run
on a task queue of their own (a derived ``COREGIT_TEST_ID``), so the in-process ``live_worker``
of other tests never takes their tasks, and with shortened run timings (``FAST_TIMINGS``).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.support.git_http_backend import GitHttpServer, serve_git
from tests.support.processes import (
    Process,
    ServiceEnv,
    celery_beat,
    celery_worker,
    free_port,
    gunicorn,
    wait_healthy,
    wait_until,
)
from tests.sync.engine.worktree import WorkTree

USER, PASSWORD = "sync-bot", "s3cret-pa55word"
FAULT_MODULE = "tests.support.fault_points"
# Run timings for the service processes (see the README's settings): seconds, not minutes, so a
# dead worker is noticed and its run taken over well inside each test's deadline.
FAST_TIMINGS = {
    "COREGIT_HEARTBEAT_SECONDS": "1",
    "COREGIT_RUN_STALE_SECONDS": "10",
    "COREGIT_REAPER_SECONDS": "2",
    "COREGIT_RUN_REPUBLISH_SECONDS": "10",
    "COREGIT_RUN_MAX_ATTEMPTS": "3",
}
RECOVERY_DEADLINE = 120.0  # seconds from the kill to a finished run, on a loaded 2-core machine



def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


def database_url_of_tests() -> str:
    db = settings.DATABASES["default"]  # pytest-django switched NAME to the test database
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def new_service_env(data_dir: Path, *, database_url: str, broker_url: str) -> ServiceEnv:
    queue_id = f"{os.environ.get('COREGIT_TEST_ID', 'main')}-faults-{uuid.uuid4().hex[:8]}"
    return ServiceEnv(database_url=database_url, broker_url=broker_url, queue_id=queue_id,
                      repo_root=str(settings.COREGIT_REPO_ROOT), data_dir=data_dir,
                      extra=dict(FAST_TIMINGS))


class Api:
    """The HTTP API as a client sees it."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["x-api-key"] = key

    def call(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        return self.session.request(method, f"{self.base_url}/v1{path}", json=body, timeout=60)

    def ok(self, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
        resp = self.call(method, path, body)
        assert resp.status_code == status, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()


@dataclass
class Stack:
    senv: ServiceEnv
    base_url: str
    api_process: Process
    beat: Process

    def client(self, key: str) -> Api:
        return Api(self.base_url, key)

    def worker(self, name: str, *, wrap: list[str] | None = None, **env: str) -> Process:
        return celery_worker(self.senv, name, include=FAULT_MODULE, wrap=wrap, **env)


def start_stack(senv: ServiceEnv) -> Stack:
    port = free_port()
    api = gunicorn(senv, port).start()
    beat = celery_beat(senv).start()
    stack = Stack(senv, f"http://127.0.0.1:{port}", api, beat)
    try:
        wait_healthy(api, stack.base_url)
    except BaseException:
        stop_all(api, beat)
        raise
    return stack


def stop_all(*processes: Process) -> None:
    for proc in processes:
        proc.stop()


def purge_queue(broker_url: str, queue_id: str) -> None:
    import redis

    if not broker_url.startswith("redis://"):
        return
    try:
        redis.Redis.from_url(broker_url, socket_timeout=5).delete(f"celery-{queue_id}")
    except redis.RedisError:
        pass


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Stack]:
    """gunicorn + celery beat on the test database and the shared Redis, for one test module."""
    with django_db_blocker.unblock():
        senv = new_service_env(tmp_path_factory.mktemp("faults-stack"),
                               database_url=database_url_of_tests(),
                               broker_url=settings.CELERY_BROKER_URL)
    stack = start_stack(senv)
    try:
        yield stack
    finally:
        stop_all(stack.api_process, stack.beat)
        purge_queue(senv.broker_url, senv.queue_id)


@pytest.fixture
def workers() -> Iterator[list[Process]]:
    """Workers a test starts; stopped (or their remains killed) afterwards, whatever happened."""
    started: list[Process] = []
    yield started
    for proc in started:
        proc.kill_group()


@dataclass
class Remote:
    server: GitHttpServer
    path: Path
    url: str
    work: WorkTree
    home: Path


@pytest.fixture
def remote(tmp_path) -> Iterator[Remote]:
    """A real ``git http-backend`` remote with Basic auth, and a work tree that pushes to it."""
    home = tmp_path / "home"
    home.mkdir()
    with serve_git(tmp_path / "served", username=USER, password=PASSWORD) as server:
        path = server.create_repo("upstream.git")
        yield Remote(server, path, server.url("upstream.git"), WorkTree(tmp_path / "work", home, path),
                     home)


def create_synced_repo(api: Api, remote: Remote, slug: str, *, direction: str = "import",
                       overwrite_diverged: bool = False) -> tuple[dict, dict]:
    """A repository with the remote's git credential and a sync config: (repo, config)."""
    repo = api.ok("POST", "/repos", {"slug": slug}, status=201)
    api.ok("POST", "/repos/git-credentials",
           {"repo_id": repo["id"], "username": USER, "password": PASSWORD}, status=201)
    config = api.ok("POST", f"/repos/{slug}/sync/config",
                    {"remote": remote.url, "direction": direction,
                     "overwrite_diverged": overwrite_diverged}, status=201)
    return repo, config


def wait_finished(api: Api, slug: str, run_id: str, *, timeout: float) -> dict:
    def finished() -> dict | None:
        runs = api.ok("GET", f"/repos/{slug}/sync/history?limit=100")["runs"]
        run = next((r for r in runs if r["id"] == run_id), None)
        return run if run and run["status"] not in ("queued", "running") else None

    return wait_until(finished, timeout=timeout, what=f"run {run_id} to finish", poll=0.2)


def elapsed_since(start: float) -> float:
    return time.monotonic() - start
