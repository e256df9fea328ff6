"""PostgreSQL expression indexes on each duration's whole second, then the instant its day is
read from: a percentile whose second holds durations with microseconds reads that second's
rows of the period from them (reports.durations._look_up), not the period's rows. The
expressions are reports.durations.seconds_sql's, character for character. Built
CONCURRENTLY (large tables keep taking writes); partial, so the open conversations and turns
that no report measures yet are not in them. SQLite (the embedded demo) scans the period.
"""

from django.db import migrations

INDEXES = {
    "conversation_first_response_second_idx": (
        "helpdesk_conversation",
        "first_response_at",
        "created_at",
        "needs_reply AND first_response_at IS NOT NULL",
    ),
    "conversation_resolution_second_idx": (
        "helpdesk_conversation",
        "resolved_at",
        "created_at",
        "resolved_at IS NOT NULL",
    ),
    "customer_turn_next_response_second_idx": (
        "reports_customerturn",
        "answered_at",
        "started_at",
        "answered_at IS NOT NULL",
    ),
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from reports.durations import seconds_sql

    for name, (table, end, start, where) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "
            f"(({seconds_sql('postgresql', end, start)}), {start}) WHERE {where}",
            params=None,
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("reports", "0013_duration_daily_triggers")]

    operations = [migrations.RunPython(forward, backward)]
