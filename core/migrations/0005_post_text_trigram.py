"""Postgres: trigram indexes on the posts' text and the customers' handle and name (as the
search compares them, upper-cased), so searching the queue for a rare word reads the few
matching rows instead of probing every open conversation's thread or every customer.
Nothing on SQLite (a development database)."""

from django.db import migrations

# (name, table, column): what the search compares, upper-cased as icontains does.
TRIGRAM_INDEXES = [
    ("post_text_trgm_idx", "helpdesk_post", "text"),
    ("customer_handle_trgm_idx", "helpdesk_customer", "handle"),
    ("customer_name_trgm_idx", "helpdesk_customer", "display_name"),
]


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (Postgres 13+): the database's owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON {table} USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, _, _ in TRIGRAM_INDEXES:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    # CONCURRENTLY cannot run in a transaction; the posts table keeps taking writes meanwhile.
    atomic = False

    dependencies = [
        ("core", "0004_conversation_waiting_since"),
    ]

    operations = [migrations.RunPython(create_trigram_index, drop_trigram_index)]
