"""Migration operations shared by the apps.

``AddIndexWithoutBlockingWrites``: on PostgreSQL, ``CREATE INDEX CONCURRENTLY``. A plain
``CREATE INDEX`` takes a SHARE lock for the whole build, and ``sync_run`` holds every run ever
made: every trigger, webhook and worker update would wait behind it. SQLite (the embedded default)
has no concurrent form and is written by one service, so the plain form is used there.

A concurrent build that stops half way (a cancel, a lost connection) leaves an INVALID index
under the name; it is dropped first, so running the migration again builds it instead of failing
on "already exists". The migration using it must be ``atomic = False``.
"""

from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex

INVALID_INDEX = """
    SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relname = %s AND NOT i.indisvalid AND pg_table_is_visible(c.oid)
"""


def _drop_invalid(schema_editor, name: str) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(INVALID_INDEX, [name])
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class AddIndexWithoutBlockingWrites(AddIndexConcurrently):
    def describe(self) -> str:
        return f"Create index {self.index.name} on {self.model_name} without blocking writes"

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
        self._ensure_not_in_transaction(schema_editor)
        _drop_invalid(schema_editor, self.index.name)
        return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return AddIndex.database_backwards(self, app_label, schema_editor, from_state,
                                               to_state)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)
