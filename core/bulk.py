"""Writing many rows in one statement: new rows (`insert_rows`) and changed fields
(`update_rows`).

Django's `bulk_update` builds a `CASE WHEN pk = … THEN …` expression per row and field; for
a batch of fifty posts that is hundreds of expressions to resolve in Python and a statement
the database evaluates row by row (measured: most of a batch's processing time). Here the
new values are joined on the primary key: on PostgreSQL as one array per column, elsewhere
as one VALUES list (SQLite 3.33 and later).

On PostgreSQL both send their arrays bound by the server in psycopg's binary format. Django
spells every parameter into the statement's text (client-side binding), element by element
for an array: for the ingest path's posts and SLA timers that was 60 and 40 µs of worker CPU
per row, against 30 and 10 in binary, and PostgreSQL parses binary arrays faster too
(docs/performance.md, "Ingest, eighth round").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson
import psycopg
from django.db import connections, router
from django.db.models import AutoField, Field, JSONField, Model
from django.db.models.expressions import DatabaseDefault
from psycopg.types.json import Jsonb


def insert_rows(rows: Iterable[Model]) -> list[Model]:
    """Insert model instances (all of one model, none saved yet) in one statement and set
    their primary keys and what the database computed (generated columns, database
    defaults); returns them. Like `bulk_create` (which it is off PostgreSQL, or for an
    expression): no `save()`, no signals."""
    rows = list(rows)
    if not rows:
        return rows
    model = type(rows[0])
    meta = model._meta
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql" or not isinstance(meta.pk, AutoField):
        return model._default_manager.using(alias).bulk_create(rows)
    for row in rows:
        # As bulk_create: a related object saved since it was assigned gives its id.
        row._prepare_related_fields_for_save(operation_name="insert_rows")
    columns, values, read_back = [], [], [meta.pk]
    for field in meta.concrete_fields:
        if field is meta.pk:
            continue
        column = [] if field.generated else [field.pre_save(row, True) for row in rows]
        if (field.generated or field.has_db_default()) and all(
            isinstance(value, DatabaseDefault) for value in column
        ):
            # Computed by the database (a generated column, or every row's default): read
            # back, as a plain value (a field converting what it reads is bulk_create's).
            if field.get_db_converters(connection):
                return model._default_manager.using(alias).bulk_create(rows)
            read_back.append(field)
            continue
        if any(hasattr(value, "resolve_expression") for value in column):
            # An expression, or a database default for some rows only: bulk_create's.
            return model._default_manager.using(alias).bulk_create(rows)
        columns.append(field)
        values.append(_db_values(field, column, connection))
    quote = connection.ops.quote_name
    arrays = _binary_arrays(columns, connection)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) "
        f"SELECT * FROM unnest({arrays}) "
        f"RETURNING {', '.join(quote(field.column) for field in read_back)}"
    )
    with server_binding_cursor(connection) as cursor:
        cursor.execute(sql, values)
        returned = cursor.fetchall()
    for row, stored in zip(rows, returned, strict=True):
        for field, value in zip(read_back, stored, strict=True):
            setattr(row, field.attname, value)
        row._state.adding = False
        row._state.db = alias
    return rows


def _db_values(field: Field, values: list, connection) -> list:
    """`field.get_db_prep_save` of each value, as Django would send them to the database.

    On PostgreSQL, the values of Django's own fields that it would give back unchanged
    (a str for a text field, an int for an integer one, an aware datetime...) are taken as
    they are: its chain of calls per value was half of an insert's cost in the worker
    (tests/core/test_bulk.py holds the two to agree). A JSON value is dumped by orjson
    (`dumps_json`)."""
    if connection.vendor != "postgresql" or not type(field).__module__.startswith("django."):
        return [field.get_db_prep_save(value, connection) for value in values]
    if type(field) is JSONField and field.encoder is None:
        return [
            None if value is None else Jsonb(field.get_prep_value(value), dumps=dumps_json)
            for value in values
        ]
    target = field.target_field if field.is_relation else field
    kinds = _KEPT_AS_THEY_ARE.get(target.get_internal_type(), ())
    prepare = field.get_db_prep_save
    return [
        value
        if value is None or (type(value) in kinds and _aware_if_datetime(value))
        else prepare(value, connection)
        for value in values
    ]


def _aware_if_datetime(value: object) -> bool:
    # A naive datetime is made aware by DateTimeField, with a warning.
    return type(value) is not datetime or value.tzinfo is not None


def dumps_json(value: object) -> bytes | str:
    """JSON text of `value` for PostgreSQL: orjson's, a quarter of the standard library's
    time on a tweet's payload (11 against 44 µs), or json.dumps' for what orjson refuses
    (an integer beyond 64 bits, keys that are not strings), so whatever stored before
    stores the same. What json.dumps refused (a datetime, a dataclass) is refused still; a
    float NaN, which json.dumps wrote as `NaN` and PostgreSQL refused, is written null."""
    try:
        return orjson.dumps(value, option=_ONLY_JSON_TYPES)
    except TypeError:
        return json.dumps(value)


# orjson writes datetimes, dataclasses and subclasses its own way; json.dumps decides those.
_ONLY_JSON_TYPES = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)

# The Python types each kind of Django field sends to PostgreSQL as they are.
_KEPT_AS_THEY_ARE: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(["CharField", "TextField", "SlugField", "EmailField", "URLField"], (str,)),
    **dict.fromkeys(
        [
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
            "IntegerField",
            "BigIntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveBigIntegerField",
            "PositiveSmallIntegerField",
        ],
        (int,),
    ),
    "BooleanField": (bool,),
    "FloatField": (float,),
    "DateTimeField": (datetime,),
}


def _binary_arrays(fields: Sequence[Field], connection) -> str:
    """One binary array parameter per field, cast to the field's type without its length:
    varchar(20)[] would cut longer values to fit."""
    return ", ".join(f"%b::{field.db_type(connection).split('(')[0]}[]" for field in fields)


def server_binding_cursor(connection):
    """A cursor on Django's PostgreSQL connection (the same transaction, wrapped as Django
    wraps its own: query logging, execute wrappers) that binds parameters on the server:
    sent beside the statement instead of spelled into it, and in binary where `%b` says so."""
    connection.ensure_connection()
    return connection._prepare_cursor(psycopg.Cursor(connection.connection))


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
        _db_values(field, [getattr(row, field.attname) for row in rows], connection)
        for field in columns
    ]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    if connection.vendor == "postgresql":
        # One array per column: a statement of a few parameters, whatever the batch size,
        # is parsed once (psycopg caches it) and planned cheaply, where a VALUES list of
        # thousands of literals cost both sides more than the update itself (bench: ingest).
        arrays = _binary_arrays(columns, connection)
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
    postgresql = connection.vendor == "postgresql"
    with server_binding_cursor(connection) if postgresql else connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
