"""Django's PostgreSQL backend with a health check that costs no round trip.

``CONN_HEALTH_CHECKS`` keeps a connection that died with a database restart from failing one
request, but Django's check is a ``SELECT 1`` before every request's first query: under a
webhook burst that was a third of each request's time, and the same again in the server's CPU.
A connection the server closed (restart, ``pg_terminate_backend``, idle timeout) has something
to read, the FATAL message or the end of the stream, while a healthy idle one has nothing: one
``poll`` of the socket tells them apart. Anything unexpected to read counts as dead, which only
costs a reconnect."""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from psycopg.pq import TransactionStatus


class DatabaseWrapper(PostgresWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        if conn.info.transaction_status != TransactionStatus.IDLE:
            return super().is_usable()  # mid-transaction: let the server answer
        # poll, not select: select refuses descriptors >= 1024, common in a busy worker.
        watcher = select.poll()
        try:
            watcher.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
            return not watcher.poll(0)
        except (OSError, ValueError, psycopg.Error):
            return False
