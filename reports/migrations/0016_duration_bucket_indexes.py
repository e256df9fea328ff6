"""PostgreSQL lookup indexes on each duration's bucket (reports.durations.bucket_sql, the
function of 0015, same text), then the intent for resolution (always read per intent: a
month's bucket of one intent is one range, not all intents' rows filtered), then the instant
its day is read from, carrying the columns the lookup reads (the end, first response's team
and assignee), so a percentile reads its bucket's rows of the period from the index alone. They replace 0014's indexes on the whole second, which no query uses any more.
Built CONCURRENTLY; partial, as 0014's. SQLite (the embedded demo) scans the period.
"""

from importlib import import_module

from django.db import migrations

INDEXES = {
    "conversation_first_response_bucket_idx": (
        "helpdesk_conversation",
        "first_response_at",
        "created_at",
        "needs_reply AND first_response_at IS NOT NULL",
        (),
        ("team_id", "assignee_id"),
    ),
    "conversation_resolution_bucket_idx": (
        "helpdesk_conversation",
        "resolved_at",
        "created_at",
        "resolved_at IS NOT NULL",
        ("intent",),
        (),
    ),
    "customer_turn_next_response_bucket_idx": (
        "reports_customerturn",
        "answered_at",
        "started_at",
        "answered_at IS NOT NULL",
        (),
        (),
    ),
}


def _whole_second_indexes():
    return import_module("reports.migrations.0014_duration_lookup_indexes")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from reports.durations import bucket_sql

    for name, (table, end, start, where, keys, carried) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "
            f"(({bucket_sql('postgresql', end, start)}), {', '.join((*keys, start))}) "
            f"INCLUDE ({', '.join((end, *carried))}) WHERE {where}",
            params=None,
        )
    _whole_second_indexes().backward(apps, schema_editor)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _whole_second_indexes().forward(apps, schema_editor)
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("reports", "0015_duration_buckets")]

    operations = [migrations.RunPython(forward, backward)]
