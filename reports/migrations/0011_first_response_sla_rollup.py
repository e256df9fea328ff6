"""The first-response SLA share in the conversation roll-up (issue #21: the share met was the
slowest KPI, a join of a month of conversations with every stopped timer ever).

Each conversation keeps the state its first-response timer stopped in
(helpdesk_conversation.first_response_sla, core 0008), copied by triggers on sla_slatimer in
the writer's transaction; the conversation triggers of 0010 are recreated to count it
(`sla_measured`, `sla_met`), so a change of the timer or of the conversation's key moves the
count in the same transaction, under the conversation's row lock. Then the column and the
roll-up are filled from the rows already stored.

The timer triggers write the conversation only when its copy differs: a running timer's
writes (the ingest's, the breach sweeper's) change nothing there, and its stop happens where
the reply path already holds the conversation's row.
"""

from django.db import migrations, models

SLOTS = 32768
KEY = "hour, account_id, team_id, assignee_id, intent, slot"
FIGURES = "conversations, no_reply, resolved, handled, handling_us, sla_measured, sla_met"
WATCHED = (
    "created_at, account_id, team_id, assignee_id, intent, needs_reply, resolved_at, "
    "first_response_at, first_response_sla"
)
SET = """
        conversations = {r}conversations + excluded.conversations,
        no_reply = {r}no_reply + excluded.no_reply,
        resolved = {r}resolved + excluded.resolved,
        handled = {r}handled + excluded.handled,
        handling_us = {r}handling_us + excluded.handling_us,
        sla_measured = {r}sla_measured + excluded.sla_measured,
        sla_met = {r}sla_met + excluded.sla_met"""

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
                                  * 1000000)::bigint), 0),
           COALESCE(SUM(d.sign) FILTER (
               WHERE d.needs_reply AND d.first_response_sla IS NOT NULL), 0),
           COALESCE(SUM(d.sign) FILTER (
               WHERE d.needs_reply AND d.first_response_sla = 'met'), 0)
    FROM ({{deltas}}) d
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (hour, account_id, team_id, assignee_id, intent, slot) DO UPDATE SET
{SET.format(r="r.")};
"""
CHANGED = " OR ".join(f"o.{column} IS DISTINCT FROM n.{column}" for column in WATCHED.split(", "))
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

# The timer side: the conversations whose copy differs from their first-response timer.
OUTCOME = "CASE WHEN t.stopped_at IS NOT NULL THEN t.state END"
PG_TIMER_OUTCOMES = {
    "insert": f"SELECT t.conversation_id, {OUTCOME} AS outcome FROM new_rows t",
    "update": f"SELECT t.conversation_id, {OUTCOME} AS outcome FROM new_rows t",
    "delete": "SELECT t.conversation_id, NULL::varchar AS outcome FROM old_rows t",
}
PG_TIMER_TRANSITIONS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def _pg_forward() -> list[str]:
    statements = []
    for operation, deltas in PG_DELTAS.items():
        # Same names as 0010's: CREATE OR REPLACE swaps the body under the existing triggers.
        function = f"reports_conversation_hourly_{operation}"
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{PG_UPSERT.replace('{deltas}', deltas)}\n    RETURN NULL;\nEND $$;"
        )
    for operation, outcomes in PG_TIMER_OUTCOMES.items():
        function = f"reports_first_response_sla_{operation}"
        changed = f"""
            SELECT x.conversation_id, x.outcome FROM ({outcomes} WHERE t.kind = 'first_response') x
            JOIN helpdesk_conversation c ON c.id = x.conversation_id
            WHERE c.first_response_sla IS DISTINCT FROM x.outcome"""
        # Checked first, so a statement that changes no copy (a running timer's) runs no
        # UPDATE, hence none of the conversation's roll-up triggers either.
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n    IF EXISTS ({changed}) THEN\n"
            f"        UPDATE helpdesk_conversation c SET first_response_sla = x.outcome\n"
            f"        FROM ({changed}) x WHERE c.id = x.conversation_id;\n"
            "    END IF;\n    RETURN NULL;\nEND $$;"
        )
        statements.append(
            f"CREATE TRIGGER {function} AFTER {operation.upper()} ON sla_slatimer "
            f"{PG_TIMER_TRANSITIONS[operation]} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )
    statements.append(
        "CREATE OR REPLACE FUNCTION reports_first_response_sla_truncate() RETURNS trigger "
        "LANGUAGE plpgsql AS $$\nBEGIN\n    UPDATE helpdesk_conversation SET first_response_sla "
        "= NULL WHERE first_response_sla IS NOT NULL;\n    RETURN NULL;\nEND $$;"
    )
    statements.append(
        "CREATE TRIGGER reports_first_response_sla_truncate AFTER TRUNCATE ON sla_slatimer "
        "FOR EACH STATEMENT EXECUTE FUNCTION reports_first_response_sla_truncate();"
    )
    return statements


def _pg_backward() -> list[str]:
    statements = []
    for operation in [*PG_TIMER_OUTCOMES, "truncate"]:
        function = f"reports_first_response_sla_{operation}"
        statements.append(f"DROP TRIGGER IF EXISTS {function} ON sla_slatimer;")
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
               * 86400000000.0) AS INTEGER) ELSE 0 END,
           {sign} * ({row}.needs_reply AND {row}.first_response_sla IS NOT NULL),
           {sign} * ({row}.needs_reply AND {row}.first_response_sla IS 'met')
    WHERE true
    ON CONFLICT (hour, account_id, team_id, assignee_id, intent, slot) DO UPDATE SET
{SET.format(r="")};"""


def _sqlite_copy(row: str, outcome: str) -> str:
    return f"""
    UPDATE helpdesk_conversation SET first_response_sla = {outcome}
    WHERE id = {row}.conversation_id AND first_response_sla IS NOT {outcome};"""


SQLITE_NEW_OUTCOME = "(CASE WHEN NEW.stopped_at IS NOT NULL THEN NEW.state END)"
SQLITE_FORWARD = [
    "DROP TRIGGER IF EXISTS reports_conversation_hourly_insert;",
    "DROP TRIGGER IF EXISTS reports_conversation_hourly_delete;",
    "DROP TRIGGER IF EXISTS reports_conversation_hourly_update;",
    "CREATE TRIGGER reports_conversation_hourly_insert AFTER INSERT ON helpdesk_conversation "
    f"BEGIN{_sqlite_upsert('NEW', 1)}\nEND;",
    "CREATE TRIGGER reports_conversation_hourly_delete AFTER DELETE ON helpdesk_conversation "
    f"BEGIN{_sqlite_upsert('OLD', -1)}\nEND;",
    f"CREATE TRIGGER reports_conversation_hourly_update AFTER UPDATE OF {WATCHED} "
    "ON helpdesk_conversation "
    f"BEGIN{_sqlite_upsert('OLD', -1)}{_sqlite_upsert('NEW', 1)}\nEND;",
    "CREATE TRIGGER reports_first_response_sla_insert AFTER INSERT ON sla_slatimer "
    f"WHEN NEW.kind = 'first_response' BEGIN{_sqlite_copy('NEW', SQLITE_NEW_OUTCOME)}\nEND;",
    "CREATE TRIGGER reports_first_response_sla_update "
    "AFTER UPDATE OF state, stopped_at, kind, conversation_id ON sla_slatimer "
    f"WHEN NEW.kind = 'first_response' BEGIN{_sqlite_copy('NEW', SQLITE_NEW_OUTCOME)}\nEND;",
    "CREATE TRIGGER reports_first_response_sla_delete AFTER DELETE ON sla_slatimer "
    f"WHEN OLD.kind = 'first_response' BEGIN{_sqlite_copy('OLD', 'NULL')}\nEND;",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS reports_first_response_sla_{operation};"
    for operation in ("insert", "update", "delete")
]


def forward(apps, schema_editor):
    from reports.rollups import rebuild_conversation_rollups_sql, sync_first_response_sla_sql

    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = _pg_forward()
    elif vendor == "sqlite":
        statements = SQLITE_FORWARD
    else:
        return
    for statement in statements:
        schema_editor.execute(statement, params=None)
    sql, params = sync_first_response_sla_sql(vendor, since=None)
    schema_editor.execute(sql, params=params or None)
    schema_editor.execute("DELETE FROM reports_conversationhourly", params=None)
    sql, params = rebuild_conversation_rollups_sql(vendor, since=None)
    schema_editor.execute(sql, params=params or None)


def _previous():
    import importlib

    return importlib.import_module("reports.migrations.0010_conversation_hourly_triggers")


def drop_sqlite_triggers(apps, schema_editor):
    # SQLite rebuilds the roll-up table to add its columns, which fails while a trigger on
    # the conversations names it: 0010's go first, and come back (recreated) below.
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD[:3]:
            schema_editor.execute(statement, params=None)


def restore_previous(apps, schema_editor):
    _previous().forward(apps, schema_editor)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _pg_backward(), "sqlite": SQLITE_BACKWARD}.get(vendor, [])
    for statement in statements:
        schema_editor.execute(statement, params=None)
    # Drops the conversation triggers and empties the roll-up; 0010's come back once the
    # columns are gone (restore_previous).
    _previous().backward(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_conversation_first_response_sla"),
        ("reports", "0010_conversation_hourly_triggers"),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, restore_previous),
        migrations.AddField(
            model_name="conversationhourly",
            name="sla_measured",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="conversationhourly",
            name="sla_met",
            field=models.IntegerField(default=0),
        ),
        migrations.RunPython(forward, backward),
    ]
