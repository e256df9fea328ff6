"""Triggers that keep reports_durationdaily (reports.models.DurationDaily) up to date in the
same transaction as every write to helpdesk_conversation and reports_customerturn, then fill
it from the rows already stored (issue #21: exact percentiles that do not sort a month).

Same design as the hourly roll-ups (0008, 0010): on PostgreSQL statement-level triggers with
transition tables, one grouped INSERT ... ON CONFLICT DO UPDATE of signed deltas per statement,
in key order, in the writer's own slot; an UPDATE counts only rows whose measured columns
changed, and deltas that cancel out write nothing. Row-level triggers on SQLite. What each
metric measures is reports.durations.MEASURES, read here as SQL.

This migration keyed the histograms on whole seconds; 0015 replaces its trigger functions
with the same ones by bucket (`bucketed`) and rebuilds the table.
"""

from django.db import migrations

SLOTS = 32768
COLUMNS = "day, metric, team_id, assignee_id, intent, seconds, slot, durations, fraction_us"
KEY = "day, metric, team_id, assignee_id, intent, seconds, slot"
SET = """
        durations = {r}durations + excluded.durations,
        fraction_us = {r}fraction_us + excluded.fraction_us"""
TABLES = {"conversation": "helpdesk_conversation", "turn": "reports_customerturn"}
TRANSITIONS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _measures(table: str):
    from reports.durations import MEASURES

    return [measure for measure in MEASURES if measure.table == table]


def _watched(table: str) -> tuple[str, ...]:
    from reports.durations import CONVERSATION_COLUMNS, TURN_COLUMNS

    return CONVERSATION_COLUMNS if table == "helpdesk_conversation" else TURN_COLUMNS


def _pg_deltas(table: str) -> dict[str, str]:
    watched = _watched(table)
    columns = ", ".join(watched)
    changed = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in watched)
    return {
        "insert": f"SELECT {columns}, 1 AS sign FROM new_rows",
        "delete": f"SELECT {columns}, -1 AS sign FROM old_rows",
        "update": (
            f"SELECT {', '.join('n.' + c for c in watched)}, 1 AS sign "
            f"FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed} "
            "UNION ALL "
            f"SELECT {', '.join('o.' + c for c in watched)}, -1 "
            f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed}"
        ),
    }


def _pg_rows(measure, bucketed: bool) -> str:
    from reports.durations import measure_buckets_sql, measure_rows_sql

    rows = (
        f"{measure_rows_sql('postgresql', measure, 'd.')}, d.sign AS sign FROM d "
        f"WHERE {measure.where.format(p='d.')}"
    )
    return measure_buckets_sql("postgresql", measure, rows, ", sign") if bucketed else rows


def _pg_upsert(table: str, deltas: str, bucketed: bool = False) -> str:
    from reports.durations import unescape

    rows = " UNION ALL ".join(_pg_rows(measure, bucketed) for measure in _measures(table))
    return unescape(f"""
    WITH d AS ({deltas})
    INSERT INTO reports_durationdaily AS r ({COLUMNS})
    SELECT m.day, m.metric, m.team_id, m.assignee_id, m.intent, m.seconds,
           pg_backend_pid() % {SLOTS}, SUM(m.sign), SUM(m.sign * m.fraction_us)
    FROM ({rows}) m
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING SUM(m.sign) <> 0 OR SUM(m.sign * m.fraction_us) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ({KEY}) DO UPDATE SET
{SET.format(r="r.")};""")


def _pg_forward(bucketed: bool = False) -> list[str]:
    statements = []
    for name, table in TABLES.items():
        metrics = ", ".join(str(int(measure.metric)) for measure in _measures(table))
        for operation, deltas in _pg_deltas(table).items():
            function = f"reports_duration_daily_{name}_{operation}"
            statements.append(
                f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
                f"AS $$\nBEGIN{_pg_upsert(table, deltas, bucketed)}\n    RETURN NULL;\nEND $$;"
            )
            statements.append(
                f"CREATE TRIGGER {function} AFTER {operation.upper()} ON {table} "
                f"{TRANSITIONS[operation]} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
            )
        # Emptying the table (TRUNCATE, e.g. the benchmark's reset) empties its histograms.
        function = f"reports_duration_daily_{name}_truncate"
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n    DELETE FROM reports_durationdaily WHERE metric IN ({metrics});\n"
            "    RETURN NULL;\nEND $$;"
        )
        statements.append(
            f"CREATE TRIGGER {function} AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )
    return statements


def _pg_backward() -> list[str]:
    statements = []
    for name, table in TABLES.items():
        for operation in (*TRANSITIONS, "truncate"):
            function = f"reports_duration_daily_{name}_{operation}"
            statements.append(f"DROP TRIGGER IF EXISTS {function} ON {table};")
            statements.append(f"DROP FUNCTION IF EXISTS {function}();")
    return statements


def _sqlite_rows(measure, row: str, bucketed: bool) -> str:
    from reports.durations import measure_buckets_sql, measure_rows_sql

    rows = f"{measure_rows_sql('sqlite', measure, f'{row}.')} WHERE {measure.where.format(p=f'{row}.')}"
    return measure_buckets_sql("sqlite", measure, rows) if bucketed else rows


def _sqlite_upserts(table: str, row: str, sign: int, bucketed: bool = False) -> str:
    from reports.durations import unescape

    return "".join(
        unescape(f"""
    INSERT INTO reports_durationdaily ({COLUMNS})
    SELECT day, metric, team_id, assignee_id, intent, seconds, 0, {sign}, {sign} * fraction_us
    FROM ({_sqlite_rows(measure, row, bucketed)})
    WHERE true
    ON CONFLICT ({KEY}) DO UPDATE SET
{SET.format(r="")};""")
        for measure in _measures(table)
    )


def _sqlite_forward(bucketed: bool = False) -> list[str]:
    statements = []
    for name, table in TABLES.items():
        prefix = f"reports_duration_daily_{name}"
        statements += [
            f"CREATE TRIGGER {prefix}_insert AFTER INSERT ON {table} "
            f"BEGIN{_sqlite_upserts(table, 'NEW', 1, bucketed)}\nEND;",
            f"CREATE TRIGGER {prefix}_delete AFTER DELETE ON {table} "
            f"BEGIN{_sqlite_upserts(table, 'OLD', -1, bucketed)}\nEND;",
            f"CREATE TRIGGER {prefix}_update AFTER UPDATE OF {', '.join(_watched(table))} "
            f"ON {table} BEGIN{_sqlite_upserts(table, 'OLD', -1, bucketed)}"
            f"{_sqlite_upserts(table, 'NEW', 1, bucketed)}\nEND;",
        ]
    return statements


def _sqlite_backward() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS reports_duration_daily_{name}_{operation};"
        for name in TABLES
        for operation in ("insert", "delete", "update")
    ]


def forward(apps, schema_editor):
    from reports.durations import rebuild_histograms_sql, unescape

    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = _pg_forward()
    elif vendor == "sqlite":
        statements = _sqlite_forward()
    else:
        return
    for statement in statements:
        schema_editor.execute(statement, params=None)
    for table in TABLES.values():
        sql, params = rebuild_histograms_sql(vendor, table=table, since=None, bucketed=False)
        # Without parameters no driver undoes the doubled % of SQLite's strftime.
        schema_editor.execute(unescape(sql), params=None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _pg_backward(), "sqlite": _sqlite_backward()}.get(vendor, [])
    for statement in statements:
        schema_editor.execute(statement, params=None)
    schema_editor.execute("DELETE FROM reports_durationdaily", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_conversation_first_response_sla"),
        ("reports", "0012_duration_daily_histogram"),
    ]

    operations = [migrations.RunPython(forward, backward)]
