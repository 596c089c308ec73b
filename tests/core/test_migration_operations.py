"""Indexes on large tables are built without blocking writes (core/migration_operations.py)."""

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, connections, models
from django.db.migrations.loader import MigrationLoader

from core.migration_operations import AddIndexWithoutBlockingWrites
from sync.models import SyncRun

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="CONCURRENTLY is PostgreSQL's; SQLite runs it in "
                                       "tests/core/test_run_command.py's embedded start")
NAME = "test_run_concurrent_idx"
TABLE = SyncRun._meta.db_table


def _new_connection():
    return connections["default"].__class__(dict(connection.settings_dict), "default")


def _state_pair(operation):
    before = MigrationLoader(connection).project_state()
    after = before.clone()
    operation.state_forwards("sync", after)
    return before, after


def _index_valid() -> bool | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c "
                       "ON c.oid = i.indexrelid WHERE c.relname = %s", [NAME])
        row = cursor.fetchone()
    return None if row is None else row[0]


def _wait_for_the_build_to_wait() -> None:
    """Until the builder's CREATE INDEX is in the server, waiting on a lock."""
    query = ("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX%%' "
             "AND wait_event_type = 'Lock'")
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(query)
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)  # polling a condition, not timing: the deadline fails the test
    raise AssertionError("the index build never reached the server")


@pytest.mark.django_db(transaction=True)  # sqlmigrate, as run from a shell: no transaction
def test_the_run_indexes_migration_builds_concurrently_outside_a_transaction(capsys):
    call_command("sqlmigrate", "sync", "0009_run_history_and_unfinished_indexes")
    sql = capsys.readouterr().out
    assert sql.count("CREATE INDEX CONCURRENTLY") == 2, sql
    assert "BEGIN" not in sql


@pytest.mark.django_db(transaction=True)
def test_a_write_goes_on_while_the_index_builds_and_an_invalid_leftover_is_rebuilt():
    operation = AddIndexWithoutBlockingWrites(
        model_name="syncrun", index=models.Index(fields=["repository", "status"], name=NAME))
    before, after = _state_pair(operation)
    # A transaction that wrote to sync_run and is still open: a plain CREATE INDEX would wait
    # for it while blocking every later write; CONCURRENTLY waits for it without blocking them.
    holder = _new_connection()
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ROW EXCLUSIVE MODE")
    done = threading.Event()

    def build() -> None:
        try:
            with connections["default"].schema_editor(atomic=False) as editor:
                operation.database_forwards("sync", editor, before, after)
        finally:
            connections["default"].close()
            done.set()

    builder = threading.Thread(target=build)
    builder.start()
    try:
        _wait_for_the_build_to_wait()
        writer = _new_connection()
        with writer.cursor() as cursor:  # would block behind the build's SHARE lock otherwise
            cursor.execute("SET lock_timeout = '5s'")
            cursor.execute(f"UPDATE {TABLE} SET status = status WHERE false")
        writer.close()
        assert not done.is_set()  # the build is still waiting for the open transaction
    finally:
        holder.rollback()
        holder.close()
        builder.join(timeout=60)
    assert _index_valid() is True

    with connection.cursor() as cursor:  # what a cancelled concurrent build leaves behind
        cursor.execute("UPDATE pg_index SET indisvalid = false "
                       "WHERE indexrelid = %s::regclass", [NAME])
    assert _index_valid() is False
    with connection.schema_editor(atomic=False) as editor:
        operation.database_forwards("sync", editor, before, after)
    assert _index_valid() is True
    with connection.schema_editor(atomic=False) as editor:
        operation.database_backwards("sync", editor, after, before)
    assert _index_valid() is None
