"""Migration operations shared by the apps.

``AddIndexWithoutBlockingWrites``: on PostgreSQL, ``CREATE INDEX CONCURRENTLY``. A plain
``CREATE INDEX`` takes a SHARE lock for the whole build, and the runs table holds every run ever
made: every trigger, webhook and worker update would wait behind it. SQLite (the embedded default)
has no concurrent form and is written by one service, so the plain form is used there.

Such a migration is ``atomic = False``, so it can stop half way (a cancel, a lost connection)
and be run again: an index already built is kept, and an INVALID one (what a stopped concurrent
build leaves) is dropped and built again, instead of failing on "already exists". An index that
another session is building right now is INVALID too; that is refused with a clear error rather
than dropped under it.
"""

from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import NotSupportedError
from django.db.migrations.operations import AddIndex

PG_STATE = """
    SELECT i.indisvalid, EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
                                 WHERE p.index_relid = c.oid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relname = %s AND pg_table_is_visible(c.oid)
"""
SQLITE_STATE = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = %s"


def _pg_ready(schema_editor, name: str) -> bool:
    """True when a valid index of this name exists; drops a stopped build's INVALID leftover.
    ``sqlmigrate`` (collect_sql) shows what a fresh database runs."""
    if schema_editor.collect_sql:
        return False
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(PG_STATE, [name])
        row = cursor.fetchone()
    if row is None:
        return False
    valid, building = row
    if valid:
        return True
    if building:
        raise NotSupportedError(f"Index {name} is being built by another session; run the "
                                "migration again once that build has finished")
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")
    return False


def _sqlite_ready(schema_editor, name: str) -> bool:
    if schema_editor.collect_sql:
        return False
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQLITE_STATE, [name])
        return cursor.fetchone() is not None


class AddIndexWithoutBlockingWrites(AddIndexConcurrently):
    def describe(self) -> str:
        return f"Create index {self.index.name} on {self.model_name} without blocking writes"

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            if not _sqlite_ready(schema_editor, self.index.name):
                AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
            return
        self._ensure_not_in_transaction(schema_editor)
        if not _pg_ready(schema_editor, self.index.name):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return AddIndex.database_backwards(self, app_label, schema_editor, from_state,
                                               to_state)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)
