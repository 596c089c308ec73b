"""Indexes on large tables are built without blocking writes (core/migration_operations.py).

Against the real PostgreSQL (SQLite's plain form runs in tests/test_run_command.py's embedded
start). Marking an index INVALID writes pg_index, which needs the superuser CI connects as."""

import contextlib
import threading
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import NotSupportedError, connection, connections, models
from django.db.migrations.loader import MigrationLoader

from core.migration_operations import AddIndexWithoutBlockingWrites
from sync.models import SyncRun
from tests.support.processes import wait_until

pytestmark = [pytest.mark.django_db(transaction=True),  # as `migrate` runs: no transaction
              pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's form")]
NAME = "test_run_concurrent_idx"
TABLE = SyncRun._meta.db_table
OPERATION = AddIndexWithoutBlockingWrites(
    model_name="syncrun", index=models.Index(fields=["repository", "status"], name=NAME))


def _new_connection():
    return connections["default"].__class__(dict(connection.settings_dict), "default")


def _states():
    before = MigrationLoader(connection).project_state()
    after = before.clone()
    OPERATION.state_forwards("sync", after)
    return before, after


def _forwards(conn=connection) -> None:
    before, after = _states()
    with conn.schema_editor(atomic=False) as editor:
        OPERATION.database_forwards("sync", editor, before, after)


def _backwards() -> None:
    before, after = _states()
    with connection.schema_editor(atomic=False) as editor:
        OPERATION.database_backwards("sync", editor, after, before)


def _index_valid() -> bool | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c "
                       "ON c.oid = i.indexrelid WHERE c.relname = %s", [NAME])
        row = cursor.fetchone()
    return None if row is None else row[0]


def _index_oid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::regclass::oid", [NAME])
        return cursor.fetchone()[0]


def _mark_invalid() -> None:  # what a cancelled concurrent build leaves behind
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
                       [NAME])


def _build_waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND query LIKE 'CREATE INDEX%%' AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0] > 0


def test_the_run_indexes_migration_builds_concurrently_outside_a_transaction(capsys):
    call_command("sqlmigrate", "sync", "0009_run_history_and_unfinished_indexes")
    sql = capsys.readouterr().out
    assert sql.count("CREATE INDEX CONCURRENTLY") == 2, sql
    assert "BEGIN" not in sql


@contextlib.contextmanager
def _build_behind_an_open_write() -> Iterator[threading.Thread]:
    """The index build in a thread of its own, waiting (inside) for a transaction that wrote to
    the runs table and is still open; on leaving, that transaction ends and the build finishes."""
    holder, failures = _new_connection(), []
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ROW EXCLUSIVE MODE")

    def build() -> None:
        try:
            _forwards(connections["default"])  # this thread's own connection
        except Exception as exc:  # noqa: BLE001 - reported by the test's thread below
            failures.append(exc)
        finally:
            connections["default"].close()

    builder = threading.Thread(target=build)
    builder.start()
    try:
        wait_until(_build_waiting_on_a_lock, timeout=60, what="the index build to wait",
                   poll=0.02)
        yield builder
    finally:
        holder.rollback()
        holder.close()
        builder.join(timeout=120)
    assert not builder.is_alive() and not failures, failures
    assert _index_valid() is True


def test_a_write_goes_on_while_the_index_builds():
    # A plain CREATE INDEX waits for the open transaction while blocking every later write;
    # CONCURRENTLY waits for it without blocking them.
    with _build_behind_an_open_write() as builder:
        writer = _new_connection()
        try:
            with writer.cursor() as cursor:  # blocks behind a plain build's SHARE lock
                cursor.execute("SET lock_timeout = '5s'")
                cursor.execute(f"UPDATE {TABLE} SET status = status WHERE false")
        finally:
            writer.close()
        assert builder.is_alive()  # still waiting for the open transaction
    _backwards()
    assert _index_valid() is None


def test_running_it_again_keeps_a_built_index_and_rebuilds_an_invalid_one():
    _forwards()
    built = _index_oid()
    _forwards()  # a migration stopped after this index was built, run again
    assert _index_valid() is True and _index_oid() == built  # kept, not built again
    _mark_invalid()
    assert _index_valid() is False
    _forwards()
    assert _index_valid() is True
    _backwards()
    assert _index_valid() is None


def test_an_index_another_session_is_building_is_not_dropped_under_it():
    with _build_behind_an_open_write():
        assert _index_valid() is False  # in the catalog, not valid yet
        with connection.cursor() as cursor:  # a DROP would wait for the holder: fail instead
            cursor.execute("SET lock_timeout = '10s'")
        with pytest.raises(NotSupportedError, match="being built by another session"):
            _forwards()
    _backwards()
