"""Writing changed fields of many rows in one statement.

Django's `bulk_update` builds a `CASE WHEN pk = … THEN …` expression per row and field; for
a batch of fifty posts that is hundreds of expressions to resolve in Python and a statement
the database evaluates row by row (measured: most of a batch's processing time). Here the
new values are joined on the primary key: on PostgreSQL as one array per column, elsewhere
as one VALUES list (SQLite 3.33 and later).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connections, router
from django.db.models import Model


def update_rows(rows: Iterable[Model], fields: Sequence[str]) -> int:
    """Write `fields` of each model instance in `rows` (all of one model); returns rows
    written. Like `bulk_update`, it calls no `save()` and sends no signals."""
    rows = list(rows)
    if not rows:
        return 0
    model = type(rows[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    values = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows]
        for field in columns
    ]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    if connection.vendor == "postgresql":
        # One array per column: a statement of a few parameters, whatever the batch size,
        # is parsed once (psycopg caches it) and planned cheaply, where a VALUES list of
        # thousands of literals cost both sides more than the update itself (bench: ingest).
        # Array types without a length: varchar(20)[] would cut longer values to fit.
        arrays = ", ".join(f"%s::{field.db_type(connection).split('(')[0]}[]" for field in columns)
        names = ", ".join(f"column{number}" for number in range(1, len(columns) + 1))
        source = f"unnest({arrays}) AS new({names})"
        params = values
    else:
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        source = f"(VALUES {', '.join([row_sql] * len(rows))}) AS new"
        params = [value for row in zip(*values, strict=True) for value in row]
    # VALUES lists name their columns column1, column2, …; the unnest above does the same.
    assignments = ", ".join(
        f"{quote(field.column)} = new.column{number}"
        for number, field in enumerate(columns[1:], start=2)
    )
    sql = (
        f"UPDATE {table} SET {assignments} FROM {source} "
        f"WHERE {table}.{quote(meta.pk.column)} = new.column1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
