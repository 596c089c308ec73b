"""Shared fixtures: organizations, keys, API clients."""

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
def live_worker(django_db_setup, django_db_blocker):
    """A real Celery worker (threads pool, 2 slots) consuming from the configured broker."""
    from celery.contrib.testing.worker import start_worker

    from workers.celery import app

    with django_db_blocker.unblock():
        app.control.purge()
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                          loglevel="WARNING", shutdown_timeout=30) as worker:
            yield worker
        _drop_other_connections()


def _drop_other_connections() -> None:
    """Worker threads keep their own connections; close them so the test DB can be dropped."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
