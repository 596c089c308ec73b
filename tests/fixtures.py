"""Shared fixtures: organizations, keys, API clients, the live worker and the task queues."""

import base64
import json
from contextlib import contextmanager

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def org_and_key(db):
    from accounts.services import org_create

    return org_create(name="Acme")


@pytest.fixture
def org(org_and_key):
    return org_and_key[0]


@pytest.fixture
def master_key(org_and_key):
    return org_and_key[1]


@pytest.fixture
def api(master_key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=master_key)
    return client


@pytest.fixture
def make_client():
    def make(key: str | None, *, bearer: bool = False) -> APIClient:
        client = APIClient()
        if key and bearer:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        elif key:
            client.credentials(HTTP_X_API_KEY=key)
        return client

    return make


@pytest.fixture
def scoped_key(org):
    from accounts.services import api_key_create

    def make(scopes: dict) -> str:
        return api_key_create(org=org, name="scoped", scopes=scopes)[1]

    return make


@pytest.fixture(scope="session")
def _task_routes():
    """Tasks go to the default queue, which no worker of the test session reads, unless a test
    asked for a worker (``route_tasks_to``): a "no worker" test really has none."""
    from workers.celery import app

    app.conf.task_routes = (_route_for_task,)
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)  # built from the routes on first use: build it again
    return app


def _route_for_task(name, args, kwargs, options, task=None, **kw):
    return {"queue": _ROUTE["queue"]} if _ROUTE["queue"] else None


_ROUTE: dict[str, str | None] = {"queue": None}


@contextmanager
def route_tasks_to(queue: str):
    """Publish every task (from any thread) to ``queue`` while the block runs."""
    _ROUTE["queue"] = queue
    try:
        yield
    finally:
        _ROUTE["queue"] = None


def live_queue(app) -> str:
    return f"{app.conf.task_default_queue}-live"


@pytest.fixture(scope="session")
def _live_worker_session(django_db_setup, django_db_blocker, _task_routes):
    """A real Celery worker (threads pool, 2 slots) reading only the live queue of the session."""
    from celery.contrib.testing.worker import start_worker

    app = _task_routes
    with django_db_blocker.unblock():
        BrokerQueue(app, live_queue(app)).purge()
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                          loglevel="WARNING", shutdown_timeout=30,
                          queues=[live_queue(app)]) as worker:
            yield worker
        _drop_other_connections()


@pytest.fixture
def live_worker(_live_worker_session, _task_routes):
    """The session's worker, consuming the tasks this test publishes (and only this test's)."""
    with route_tasks_to(live_queue(_task_routes)):
        yield _live_worker_session


@contextmanager
def publish_to(app, broker_url: str):
    """Tasks published from this process go to ``broker_url`` while the block runs."""
    from kombu import pools

    saved = app.amqp._producer_pool
    app.amqp._producer_pool = pools.producers[app.connection_for_write(broker_url)]
    try:
        yield
    finally:
        app.amqp._producer_pool = saved


@pytest.fixture
def broker_down(_task_routes):
    """A broker outage for the publishing side: tasks go to a port where nothing listens."""
    import socket

    @contextmanager
    def down():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with publish_to(_task_routes, f"redis://127.0.0.1:{port}/0"):
            yield

    return down


class BrokerQueue:
    """Read-only view of one Redis queue: which runs have a task message waiting in it."""

    def __init__(self, app, name: str) -> None:
        import redis

        assert app.conf.broker_url.startswith("redis://"), "these tests need the Redis broker"
        self.name = name
        self.redis = redis.Redis.from_url(app.conf.broker_url)

    def purge(self) -> None:
        self.redis.delete(self.name)

    def run_ids(self) -> list[str]:
        ids = []
        for raw in self.redis.lrange(self.name, 0, -1):
            message = json.loads(raw)
            args = json.loads(base64.b64decode(message["body"]))[0]
            if message["headers"].get("task") == "workers.sync_run":
                ids.append(args[0])
        return ids


@pytest.fixture
def unconsumed_queue(_task_routes):
    """The default task queue, emptied: no worker reads it, so its messages stay to be counted."""
    queue = BrokerQueue(_task_routes, _task_routes.conf.task_default_queue)
    queue.purge()
    yield queue
    queue.purge()


def _drop_other_connections() -> None:
    """Worker threads keep their own connections; close them so the test DB can be dropped."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
