"""PostgreSQL compresses each post's raw platform JSON with lz4 (core.migration_operations)."""

from django.db import migrations

from core.migration_operations import CompressColumnOnPostgres


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0009_alter_integrationdelivery_options"),
    ]

    operations = [CompressColumnOnPostgres("post", "raw")]
