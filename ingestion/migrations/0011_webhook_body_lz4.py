"""PostgreSQL compresses webhook bodies with lz4 (core.migration_operations)."""

from django.db import migrations

from core.migration_operations import CompressColumnOnPostgres


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0010_webhook_digest_looked_up_by_platform"),
    ]

    operations = [CompressColumnOnPostgres("webhookdelivery", "body")]
