"""Webhook bodies are stored as the text the platform sent (`body_text`), compressed with lz4,
instead of being parsed into jsonb. In steps, so a busy table is never rewritten under lock:
on PostgreSQL the new column (with a constant default) and the nullable `body` change only the
catalog. The deliveries stored before keep their jsonb `body`, read through
`WebhookDelivery.payload`, until the retention (WEBHOOK_DELIVERY_RETENTION_DAYS) deletes them.
"""

from django.db import migrations, models

from core.migration_operations import CompressColumnOnPostgres


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0011_webhook_body_lz4"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="body_text",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="body",
            field=models.JSONField(blank=True, null=True),
        ),
        CompressColumnOnPostgres("webhookdelivery", "body_text"),
    ]
