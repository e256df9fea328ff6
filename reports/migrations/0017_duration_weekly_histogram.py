"""The duration histograms summed per ISO week (reports.models.DurationWeekly, issue #21), so
a month's percentile reads its whole weeks there and only the days at its edges in
reports_durationdaily: once a group's days are full of buckets (1 M posts in the benchmark),
a month of resolutions is ~11.7 k daily rows, ~4-5 k this way.

Kept by triggers on reports_durationdaily itself, in the writer's transaction: whatever
writes the daily rows (the conversation and turn triggers of 0013/0015, a rebuild, the
TRUNCATE triggers' DELETE) moves the week's row by the same delta, in the same slot, after
the daily rows (one lock order). On PostgreSQL one grouped INSERT ... ON CONFLICT per
statement from its transition tables (an upsert into the daily table fires both its INSERT and
UPDATE triggers, each with its own rows); on SQLite row-level triggers. Then filled from the
daily rows, writers waiting.
"""

from django.db import migrations, models

COLUMNS = "week, metric, team_id, assignee_id, intent, seconds, slot, durations, fraction_us"
KEY = "metric, week, team_id, assignee_id, intent, seconds, slot"
GROUP = "day, metric, team_id, assignee_id, intent, seconds, slot"
SET = "durations = {r}durations + excluded.durations, fraction_us = {r}fraction_us + excluded.fraction_us"
PG_WEEK = "date_trunc('week', d.day)::date"
DELTAS = {
    "insert": ("REFERENCING NEW TABLE AS new_rows", f"SELECT {GROUP}, durations, fraction_us FROM new_rows"),
    "delete": ("REFERENCING OLD TABLE AS old_rows", f"SELECT {GROUP}, -durations, -fraction_us FROM old_rows"),
    "update": (
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        f"SELECT {GROUP}, durations, fraction_us FROM new_rows UNION ALL "
        f"SELECT {GROUP}, -durations, -fraction_us FROM old_rows",
    ),
}


# Daily rows are deleted only by a rebuild or when their source table is emptied (TRUNCATE):
# the week rows they leave at zero go too, or every benchmark reset (a new writer's slot each
# time) would leave a week's worth of zero rows for the reads to skip.
PG_DROP_ZEROS = f"""
    DELETE FROM reports_durationweekly r
    USING (SELECT DISTINCT {PG_WEEK.replace("d.day", "o.day")} AS week, o.metric, o.team_id,
                  o.assignee_id, o.intent, o.seconds, o.slot FROM old_rows o) k
    WHERE r.week = k.week AND r.metric = k.metric AND r.team_id = k.team_id
      AND r.assignee_id = k.assignee_id AND r.intent = k.intent AND r.seconds = k.seconds
      AND r.slot = k.slot AND r.durations = 0 AND r.fraction_us = 0;"""


def _pg_forward() -> list[str]:
    statements = []
    for operation, (transitions, deltas) in DELTAS.items():
        function = f"reports_duration_weekly_{operation}"
        drop_zeros = PG_DROP_ZEROS if operation == "delete" else ""
        statements += [
            f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_durationweekly AS r ({COLUMNS})
    SELECT {PG_WEEK}, d.metric, d.team_id, d.assignee_id, d.intent, d.seconds, d.slot,
           SUM(d.durations), SUM(d.fraction_us)
    FROM ({deltas}) AS d (day, metric, team_id, assignee_id, intent, seconds, slot,
                          durations, fraction_us)
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING SUM(d.durations) <> 0 OR SUM(d.fraction_us) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ({KEY}) DO UPDATE SET {SET.format(r="r.")};{drop_zeros}
    RETURN NULL;
END $$;""",
            f"CREATE TRIGGER {function} AFTER {operation.upper()} ON reports_durationdaily "
            f"{transitions} FOR EACH STATEMENT EXECUTE FUNCTION {function}();",
        ]
    statements += [
        "CREATE OR REPLACE FUNCTION reports_duration_weekly_truncate() RETURNS trigger "
        "LANGUAGE plpgsql AS $$\nBEGIN\n    DELETE FROM reports_durationweekly;\n"
        "    RETURN NULL;\nEND $$;",
        "CREATE TRIGGER reports_duration_weekly_truncate AFTER TRUNCATE ON reports_durationdaily "
        "FOR EACH STATEMENT EXECUTE FUNCTION reports_duration_weekly_truncate();",
    ]
    return statements


def _pg_backward() -> list[str]:
    statements = []
    for operation in (*DELTAS, "truncate"):
        function = f"reports_duration_weekly_{operation}"
        statements += [
            f"DROP TRIGGER IF EXISTS {function} ON reports_durationdaily;",
            f"DROP FUNCTION IF EXISTS {function}();",
        ]
    return statements


def _sqlite_upsert(row: str, sign: str) -> str:
    # The Monday on or before the day: six days back, then forward to a Monday.
    return f"""
    INSERT INTO reports_durationweekly ({COLUMNS})
    VALUES (date({row}.day, '-6 days', 'weekday 1'), {row}.metric, {row}.team_id,
            {row}.assignee_id, {row}.intent, {row}.seconds, {row}.slot,
            {sign}{row}.durations, {sign}{row}.fraction_us)
    ON CONFLICT ({KEY}) DO UPDATE SET {SET.format(r="")};"""


SQLITE_DROP_ZERO = """
    DELETE FROM reports_durationweekly
    WHERE week = date(OLD.day, '-6 days', 'weekday 1') AND metric = OLD.metric
      AND team_id = OLD.team_id AND assignee_id = OLD.assignee_id AND intent = OLD.intent
      AND seconds = OLD.seconds AND slot = OLD.slot AND durations = 0 AND fraction_us = 0;"""


def _sqlite_forward() -> list[str]:
    return [
        "CREATE TRIGGER reports_duration_weekly_insert AFTER INSERT ON reports_durationdaily "
        f"BEGIN{_sqlite_upsert('NEW', '')}\nEND;",
        "CREATE TRIGGER reports_duration_weekly_delete AFTER DELETE ON reports_durationdaily "
        f"BEGIN{_sqlite_upsert('OLD', '-')}{SQLITE_DROP_ZERO}\nEND;",
        "CREATE TRIGGER reports_duration_weekly_update AFTER UPDATE ON reports_durationdaily "
        f"BEGIN{_sqlite_upsert('OLD', '-')}{_sqlite_upsert('NEW', '')}\nEND;",
    ]


def _sqlite_backward() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS reports_duration_weekly_{operation};"
        for operation in ("insert", "delete", "update")
    ]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # No daily row written between the fill's read and the triggers' first delta.
        schema_editor.execute("LOCK TABLE reports_durationdaily IN SHARE MODE", params=None)
        statements = _pg_forward()
    elif vendor == "sqlite":
        statements = _sqlite_forward()
    else:
        return
    for statement in statements:
        schema_editor.execute(statement, params=None)
    from reports.durations import weekly_fill_sql

    schema_editor.execute(weekly_fill_sql(vendor), params=None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _pg_backward(), "sqlite": _sqlite_backward()}.get(vendor, [])
    for statement in statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0016_duration_bucket_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="DurationWeekly",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("week", models.DateField(help_text="The Monday (UTC) of the week counted.")),
                (
                    "metric",
                    models.SmallIntegerField(
                        choices=[
                            (1, "First response"),
                            (2, "Resolution"),
                            (3, "Next response"),
                            (4, "Awaiting first response"),
                            (5, "Awaiting next response"),
                        ]
                    ),
                ),
                ("team_id", models.BigIntegerField(default=0)),
                ("assignee_id", models.BigIntegerField(default=0)),
                ("intent", models.CharField(blank=True, max_length=20)),
                (
                    "seconds",
                    models.BigIntegerField(
                        help_text="The lower bound of the durations' bucket, in seconds."
                    ),
                ),
                ("slot", models.SmallIntegerField(default=0)),
                ("durations", models.IntegerField(default=0)),
                (
                    "fraction_us",
                    models.BigIntegerField(
                        default=0,
                        help_text="Sum of the microseconds past `seconds` of those durations.",
                    ),
                ),
            ],
            options={
                "verbose_name": "weekly duration histogram",
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "metric",
                            "week",
                            "team_id",
                            "assignee_id",
                            "intent",
                            "seconds",
                            "slot",
                        ),
                        name="duration_weekly_key",
                    )
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
