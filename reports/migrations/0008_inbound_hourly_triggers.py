"""Triggers that keep reports_inboundhourly (reports.models.InboundHourly) up to date in the
same transaction as every write to helpdesk_post, whatever wrote it (the ingest batches, an
agent's correction, the demo seeder, a bulk COPY, a deletion); then fill it from the posts
already stored.

PostgreSQL: statement-level triggers with transition tables, so a batch of 1,000 posts is one
grouped upsert, not 1,000. The upsert takes its rows in key order (no two writers wait on each
other in a cycle), and the slot (the writer's backend process id modulo 32768, which fits a
smallint) gives each concurrent writer rows of its own: a worker never waits on another's
roll-up row until that one commits, which would also add a lock the ingest's lock order
(authors, then conversations in id order) does not know, and so risk deadlocks. A key has a
row per backend that wrote it; readers sum them, `reports_rebuild_rollups` folds them into one.
SQLite (one writer at a time): row-level triggers.

The SQL is frozen in this migration on purpose: a later change is a new migration.
"""

from django.db import migrations

SLOTS = 32768
KEY = "hour, account_id, platform, slot"
FIGURES = "posts, positive, neutral, negative, untriaged"

# One grouped upsert of signed deltas `d(created_at, account_id, platform, sentiment, sign)`.
PG_UPSERT = f"""
    INSERT INTO reports_inboundhourly AS r ({KEY}, {FIGURES})
    SELECT date_trunc('hour', d.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           COALESCE(d.account_id, 0), d.platform, pg_backend_pid() % {SLOTS},
           SUM(d.sign),
           COALESCE(SUM(d.sign) FILTER (WHERE d.sentiment = 'positive'), 0),
           COALESCE(SUM(d.sign) FILTER (WHERE d.sentiment = 'neutral'), 0),
           COALESCE(SUM(d.sign) FILTER (WHERE d.sentiment = 'negative'), 0),
           COALESCE(SUM(d.sign) FILTER (
               WHERE d.sentiment NOT IN ('positive', 'neutral', 'negative')), 0)
    FROM ({{deltas}}) d
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (hour, account_id, platform, slot) DO UPDATE SET
        posts = r.posts + EXCLUDED.posts,
        positive = r.positive + EXCLUDED.positive,
        neutral = r.neutral + EXCLUDED.neutral,
        negative = r.negative + EXCLUDED.negative,
        untriaged = r.untriaged + EXCLUDED.untriaged;
"""
COLUMNS = "created_at, account_id, platform, sentiment"
CHANGED = (
    "(o.direction, o.created_at, o.account_id, o.platform, o.sentiment) IS DISTINCT FROM "
    "(n.direction, n.created_at, n.account_id, n.platform, n.sentiment)"
)
PG_DELTAS = {
    "insert": f"SELECT {COLUMNS}, 1 AS sign FROM new_rows WHERE direction = 'inbound'",
    "delete": f"SELECT {COLUMNS}, -1 AS sign FROM old_rows WHERE direction = 'inbound'",
    # Only rows whose counted columns changed: a delivery status update costs one join.
    "update": (
        "SELECT n.created_at, n.account_id, n.platform, n.sentiment, 1 AS sign "
        f"FROM new_rows n JOIN old_rows o ON o.id = n.id "
        f"WHERE n.direction = 'inbound' AND {CHANGED} "
        "UNION ALL "
        "SELECT o.created_at, o.account_id, o.platform, o.sentiment, -1 "
        f"FROM old_rows o JOIN new_rows n ON n.id = o.id "
        f"WHERE o.direction = 'inbound' AND {CHANGED}"
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
        function = f"reports_inbound_hourly_{operation}"
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{PG_UPSERT.replace('{deltas}', deltas)}\n    RETURN NULL;\nEND $$;"
        )
        statements.append(
            f"CREATE TRIGGER {function} AFTER {operation.upper()} ON helpdesk_post "
            f"{PG_TRANSITIONS[operation]} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )
    # Emptying the table (TRUNCATE, e.g. the benchmark's reset) empties the roll-up too.
    statements.append(
        "CREATE OR REPLACE FUNCTION reports_inbound_hourly_truncate() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n    DELETE FROM reports_inboundhourly;\n    RETURN NULL;\nEND $$;"
    )
    statements.append(
        "CREATE TRIGGER reports_inbound_hourly_truncate AFTER TRUNCATE ON helpdesk_post "
        "FOR EACH STATEMENT EXECUTE FUNCTION reports_inbound_hourly_truncate();"
    )
    return statements


def _pg_backward() -> list[str]:
    statements = []
    for operation in [*PG_DELTAS, "truncate"]:
        function = f"reports_inbound_hourly_{operation}"
        statements.append(f"DROP TRIGGER IF EXISTS {function} ON helpdesk_post;")
        statements.append(f"DROP FUNCTION IF EXISTS {function}();")
    return statements


# SQLite keeps datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' text in UTC, as Django writes them.
def _sqlite_upsert(row: str, sign: int) -> str:
    return f"""
    INSERT INTO reports_inboundhourly ({KEY}, {FIGURES})
    SELECT strftime('%Y-%m-%d %H:00:00', {row}.created_at), COALESCE({row}.account_id, 0),
           {row}.platform, 0, {sign},
           {sign} * ({row}.sentiment = 'positive'), {sign} * ({row}.sentiment = 'neutral'),
           {sign} * ({row}.sentiment = 'negative'),
           {sign} * ({row}.sentiment NOT IN ('positive', 'neutral', 'negative'))
    WHERE {row}.direction = 'inbound'
    ON CONFLICT (hour, account_id, platform, slot) DO UPDATE SET
        posts = posts + excluded.posts,
        positive = positive + excluded.positive,
        neutral = neutral + excluded.neutral,
        negative = negative + excluded.negative,
        untriaged = untriaged + excluded.untriaged;"""


SQLITE_FORWARD = [
    "CREATE TRIGGER reports_inbound_hourly_insert AFTER INSERT ON helpdesk_post BEGIN"
    f"{_sqlite_upsert('NEW', 1)}\nEND;",
    "CREATE TRIGGER reports_inbound_hourly_delete AFTER DELETE ON helpdesk_post BEGIN"
    f"{_sqlite_upsert('OLD', -1)}\nEND;",
    "CREATE TRIGGER reports_inbound_hourly_update AFTER UPDATE OF "
    "direction, created_at, account_id, platform, sentiment ON helpdesk_post BEGIN"
    f"{_sqlite_upsert('OLD', -1)}{_sqlite_upsert('NEW', 1)}\nEND;",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS reports_inbound_hourly_{operation};"
    for operation in ("insert", "delete", "update")
]

# The posts stored before the triggers existed, in slot 0.
FILL = {
    "postgresql": f"""
        INSERT INTO reports_inboundhourly ({KEY}, {FIGURES})
        SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
               COALESCE(account_id, 0), platform, 0, COUNT(*),
               COUNT(*) FILTER (WHERE sentiment = 'positive'),
               COUNT(*) FILTER (WHERE sentiment = 'neutral'),
               COUNT(*) FILTER (WHERE sentiment = 'negative'),
               COUNT(*) FILTER (WHERE sentiment NOT IN ('positive', 'neutral', 'negative'))
        FROM helpdesk_post WHERE direction = 'inbound'
        GROUP BY 1, 2, 3""",
    "sqlite": f"""
        INSERT INTO reports_inboundhourly ({KEY}, {FIGURES})
        SELECT strftime('%Y-%m-%d %H:00:00', created_at), COALESCE(account_id, 0), platform, 0,
               COUNT(*), SUM(sentiment = 'positive'), SUM(sentiment = 'neutral'),
               SUM(sentiment = 'negative'),
               SUM(sentiment NOT IN ('positive', 'neutral', 'negative'))
        FROM helpdesk_post WHERE direction = 'inbound'
        GROUP BY 1, 2, 3""",
}


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = _pg_forward()
    elif vendor == "sqlite":
        statements = SQLITE_FORWARD
    else:
        return
    for statement in [*statements, FILL[vendor]]:
        schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _pg_backward(), "sqlite": SQLITE_BACKWARD}.get(vendor, [])
    for statement in statements:
        schema_editor.execute(statement, params=None)
    schema_editor.execute("DELETE FROM reports_inboundhourly", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0007_inbound_hourly_rollup"),
        ("core", "0003_queue_partial_indexes"),
    ]

    operations = [migrations.RunPython(forward, backward)]
