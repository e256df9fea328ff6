"""Triggers that keep reports_conversationhourly (reports.models.ConversationHourly) up to date
in the same transaction as every write to helpdesk_conversation, then fill it from the
conversations already stored. Same design as 0008 (statement-level on PostgreSQL with slots
and keys in order, row-level on SQLite); an UPDATE counts only the rows whose counted columns
changed, so the ingest's per-batch UPDATE of timestamps costs one join and no write.
"""

from django.db import migrations

SLOTS = 32768
KEY = "hour, account_id, team_id, assignee_id, intent, slot"
FIGURES = "conversations, no_reply, resolved, handled, handling_us"
WATCHED = (
    "created_at, account_id, team_id, assignee_id, intent, needs_reply, resolved_at, "
    "first_response_at"
)
SET = """
        conversations = {r}conversations + excluded.conversations,
        no_reply = {r}no_reply + excluded.no_reply,
        resolved = {r}resolved + excluded.resolved,
        handled = {r}handled + excluded.handled,
        handling_us = {r}handling_us + excluded.handling_us"""

PG_UPSERT = f"""
    INSERT INTO reports_conversationhourly AS r ({KEY}, {FIGURES})
    SELECT date_trunc('hour', d.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           d.account_id, COALESCE(d.team_id, 0), COALESCE(d.assignee_id, 0), d.intent,
           pg_backend_pid() % {SLOTS},
           SUM(d.sign),
           COALESCE(SUM(d.sign) FILTER (WHERE NOT d.needs_reply OR d.intent = 'spam'), 0),
           COALESCE(SUM(d.sign) FILTER (WHERE d.resolved_at IS NOT NULL), 0),
           COALESCE(SUM(d.sign) FILTER (
               WHERE d.resolved_at IS NOT NULL AND d.first_response_at IS NOT NULL), 0),
           COALESCE(SUM(d.sign * (EXTRACT(EPOCH FROM d.resolved_at - d.first_response_at)
                                  * 1000000)::bigint), 0)
    FROM ({{deltas}}) d
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (hour, account_id, team_id, assignee_id, intent, slot) DO UPDATE SET
{SET.format(r="r.")};
"""
CHANGED = " OR ".join(
    f"o.{column} IS DISTINCT FROM n.{column}" for column in WATCHED.split(", ")
)
PG_DELTAS = {
    "insert": f"SELECT {WATCHED}, 1 AS sign FROM new_rows",
    "delete": f"SELECT {WATCHED}, -1 AS sign FROM old_rows",
    "update": (
        f"SELECT {', '.join('n.' + c for c in WATCHED.split(', '))}, 1 AS sign "
        f"FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {CHANGED} "
        "UNION ALL "
        f"SELECT {', '.join('o.' + c for c in WATCHED.split(', '))}, -1 "
        f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {CHANGED}"
    ),
}
PG_TRANSITIONS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _pg_forward() -> list[str]:
    statements = []
    for operation, deltas in PG_DELTAS.items():
        function = f"reports_conversation_hourly_{operation}"
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{PG_UPSERT.replace('{deltas}', deltas)}\n    RETURN NULL;\nEND $$;"
        )
        statements.append(
            f"CREATE TRIGGER {function} AFTER {operation.upper()} ON helpdesk_conversation "
            f"{PG_TRANSITIONS[operation]} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )
    # Emptying the table (TRUNCATE, e.g. the benchmark's reset) empties the roll-up too.
    statements.append(
        "CREATE OR REPLACE FUNCTION reports_conversation_hourly_truncate() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n    DELETE FROM reports_conversationhourly;\n    RETURN NULL;\nEND $$;"
    )
    statements.append(
        "CREATE TRIGGER reports_conversation_hourly_truncate AFTER TRUNCATE ON helpdesk_conversation "
        "FOR EACH STATEMENT EXECUTE FUNCTION reports_conversation_hourly_truncate();"
    )
    return statements


def _pg_backward() -> list[str]:
    statements = []
    for operation in [*PG_DELTAS, "truncate"]:
        function = f"reports_conversation_hourly_{operation}"
        statements.append(f"DROP TRIGGER IF EXISTS {function} ON helpdesk_conversation;")
        statements.append(f"DROP FUNCTION IF EXISTS {function}();")
    return statements


def _sqlite_upsert(row: str, sign: int) -> str:
    handled = f"({row}.resolved_at IS NOT NULL AND {row}.first_response_at IS NOT NULL)"
    return f"""
    INSERT INTO reports_conversationhourly ({KEY}, {FIGURES})
    SELECT strftime('%Y-%m-%d %H:00:00', {row}.created_at), {row}.account_id,
           COALESCE({row}.team_id, 0), COALESCE({row}.assignee_id, 0), {row}.intent, 0,
           {sign}, {sign} * (NOT {row}.needs_reply OR {row}.intent = 'spam'),
           {sign} * ({row}.resolved_at IS NOT NULL), {sign} * {handled},
           CASE WHEN {handled} THEN {sign} * CAST(ROUND(
               (julianday({row}.resolved_at) - julianday({row}.first_response_at))
               * 86400000000.0) AS INTEGER) ELSE 0 END
    WHERE true
    ON CONFLICT (hour, account_id, team_id, assignee_id, intent, slot) DO UPDATE SET
{SET.format(r="")};"""


SQLITE_FORWARD = [
    "CREATE TRIGGER reports_conversation_hourly_insert AFTER INSERT ON helpdesk_conversation "
    f"BEGIN{_sqlite_upsert('NEW', 1)}\nEND;",
    "CREATE TRIGGER reports_conversation_hourly_delete AFTER DELETE ON helpdesk_conversation "
    f"BEGIN{_sqlite_upsert('OLD', -1)}\nEND;",
    f"CREATE TRIGGER reports_conversation_hourly_update AFTER UPDATE OF {WATCHED} "
    "ON helpdesk_conversation "
    f"BEGIN{_sqlite_upsert('OLD', -1)}{_sqlite_upsert('NEW', 1)}\nEND;",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS reports_conversation_hourly_{operation};"
    for operation in ("insert", "delete", "update")
]


def forward(apps, schema_editor):
    from reports.rollups import rebuild_conversation_rollups_sql

    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = _pg_forward()
    elif vendor == "sqlite":
        statements = SQLITE_FORWARD
    else:
        return
    for statement in statements:
        schema_editor.execute(statement, params=None)
    # The roll-up has no SLA columns yet at this point (0011 adds and fills them).
    sql, params = rebuild_conversation_rollups_sql(vendor, since=None, sla=False)
    schema_editor.execute(sql, params=params or None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _pg_backward(), "sqlite": SQLITE_BACKWARD}.get(vendor, [])
    for statement in statements:
        schema_editor.execute(statement, params=None)
    schema_editor.execute("DELETE FROM reports_conversationhourly", params=None)


class Migration(migrations.Migration):
    dependencies = [("reports", "0009_conversation_hourly_rollup")]

    operations = [migrations.RunPython(forward, backward)]
