"""core.postgresql: the per-request health check polls the socket instead of sending SELECT 1.

Against the real PostgreSQL: a healthy idle connection is found usable without a statement
reaching the server, and one the server terminated is found unusable and replaced by Django
before the next query, so that query succeeds. (tests/faults/test_database_restart.py restarts
the server under gunicorn.)"""

from __future__ import annotations

import os
import resource

import pytest
from django.db import connection, connections

from tests.support.processes import wait_until

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backend")]


@pytest.fixture
def own():
    """A connection of its own (the test's may sit in a transaction), and another to watch it."""
    conn, watcher = connections.create_connection("default"), \
        connections.create_connection("default")
    conn.ensure_connection()
    try:
        yield conn, watcher
    finally:
        conn.close()
        watcher.close()


def _backend(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def _last_statement(watcher, pid: int) -> str:
    with watcher.cursor() as cur:
        cur.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cur.fetchone()[0]


def test_the_postgresql_engine_is_ours(own):
    conn, _ = own
    assert type(conn).__module__ == "core.postgresql.base"
    assert conn.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_a_healthy_connection_is_usable_without_a_round_trip(own):
    conn, watcher = own
    pid = _backend(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT 'health-marker'")
    assert conn.is_usable()
    assert _last_statement(watcher, pid) == "SELECT 'health-marker'"


def test_a_terminated_connection_is_unusable_and_replaced_before_the_next_query(own):
    conn, watcher = own
    pid = _backend(conn)
    with watcher.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cur.fetchone()[0] is True
    # The server's FATAL message arrives asynchronously: wait for it (bounded).
    wait_until(lambda: not conn.is_usable(), timeout=30, what="the terminated connection unusable")
    # What Django does at the start of each request, then that request's query.
    conn.health_check_done = False
    conn.close_if_health_check_failed()
    assert _backend(conn) != pid


def test_a_connection_on_a_descriptor_above_1024_is_usable():
    """select() refuses descriptors >= 1024; a busy worker's connection can get one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:  # raise the soft limit within the hard one, as a busy server would
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    conn = connections.create_connection("default")
    try:
        conn.ensure_connection()
        assert conn.connection.fileno() >= 1024
        assert conn.is_usable()
    finally:
        conn.close()
        for fd in filler:
            os.close(fd)
