"""Operations for migrations that differ on PostgreSQL.

Index operations: CONCURRENTLY on Postgres, so a large table keeps taking writes and reads
while an index builds; plain AddIndex/RemoveIndex elsewhere (SQLite). A migration using them
must say `atomic = False`. And the compression of a column's large values (PostgreSQL only).
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


class _ConcurrentlyOnPostgres:
    """The concurrent operation on Postgres, its plain counterpart (`plain`) elsewhere."""

    plain: type[migrations.AddIndex] | type[migrations.RemoveIndex]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexConcurrentlyOnPostgres(_ConcurrentlyOnPostgres, AddIndexConcurrently):
    plain = migrations.AddIndex


class RemoveIndexConcurrentlyOnPostgres(_ConcurrentlyOnPostgres, RemoveIndexConcurrently):
    plain = migrations.RemoveIndex


class CompressColumnOnPostgres(migrations.operations.base.Operation):
    """On PostgreSQL, the method compressing a column's large values (TOAST): `lz4` rather
    than the default pglz, for JSON the platforms send (a tweet is 2 to 8 KB), which is stored
    at every delivery and rarely read whole: for a recorded tweet, PostgreSQL's CPU per
    stored row went 54 → 35 µs, the same size on disk (docs/performance.md). Values already
    stored keep theirs. A server built without lz4 keeps pglz, with a notice. Nothing
    elsewhere (SQLite)."""

    reversible = True

    def __init__(self, model_name: str, name: str, method: str = "lz4") -> None:
        self.model_name = model_name
        self.name = name
        self.method = method

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name, self.name, self.method], {})

    def state_forwards(self, app_label, state) -> None:
        pass  # how PostgreSQL stores the values is no part of the model

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._compress(app_label, schema_editor, to_state, self.method)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._compress(app_label, schema_editor, to_state, "default")

    def _compress(self, app_label, schema_editor, state, method: str) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model = state.apps.get_model(app_label, self.model_name)
        table = schema_editor.quote_name(model._meta.db_table)
        column = schema_editor.quote_name(model._meta.get_field(self.name).column)
        schema_editor.execute(
            "DO $$ BEGIN "
            f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}; "
            "EXCEPTION WHEN feature_not_supported THEN "
            f"RAISE NOTICE 'kept the default compression for %%: %%', '{table}.{column}', SQLERRM; "
            "END $$"
        )

    def describe(self) -> str:
        return f"Compress {self.model_name}.{self.name} with {self.method} on PostgreSQL"
