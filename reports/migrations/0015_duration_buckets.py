"""The duration histograms by log-spaced bucket instead of whole second (issue #21): a month
of resolutions, whose durations rarely share a second, was about one histogram row per
conversation. PostgreSQL gets the bucket as an immutable function (the lookup indexes of 0016
are built on it); the trigger functions of 0013 are replaced by the same ones by bucket (on
SQLite the triggers are rebuilt), and the table is refilled from the rows, writers waiting.
"""

from importlib import import_module

from django.db import migrations, models

TABLES = ("helpdesk_conversation", "reports_customerturn")


def _rebuild(schema_editor, *, bucketed: bool) -> None:
    from reports.durations import (
        BUCKET_FUNCTION,
        bucket_function_sql,
        rebuild_histograms_sql,
        unescape,
    )

    triggers = import_module("reports.migrations.0013_duration_daily_triggers")
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # No write between the old triggers' last delta and the rebuild's read.
        schema_editor.execute(f"LOCK TABLE {', '.join(TABLES)} IN SHARE MODE", params=None)
        if bucketed:
            schema_editor.execute(bucket_function_sql(), params=None)
        # The triggers call their functions by name: replacing the bodies is enough.
        for statement in triggers._pg_forward(bucketed):
            if statement.startswith("CREATE OR REPLACE FUNCTION"):
                schema_editor.execute(statement, params=None)
        if not bucketed:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {BUCKET_FUNCTION}(bigint)", params=None)
    elif vendor == "sqlite":
        for statement in (*triggers._sqlite_backward(), *triggers._sqlite_forward(bucketed)):
            schema_editor.execute(statement, params=None)
    else:
        return
    schema_editor.execute("DELETE FROM reports_durationdaily", params=None)
    for table in TABLES:
        sql, params = rebuild_histograms_sql(vendor, table=table, since=None, bucketed=bucketed)
        # Without parameters no driver undoes the doubled % of the SQL.
        schema_editor.execute(unescape(sql), params=None)


def forward(apps, schema_editor):
    _rebuild(schema_editor, bucketed=True)


def backward(apps, schema_editor):
    _rebuild(schema_editor, bucketed=False)


class Migration(migrations.Migration):
    dependencies = [("reports", "0014_duration_lookup_indexes")]

    operations = [
        migrations.AlterField(
            model_name="durationdaily",
            name="seconds",
            field=models.BigIntegerField(
                help_text="The lower bound of the durations' bucket, in seconds."
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
