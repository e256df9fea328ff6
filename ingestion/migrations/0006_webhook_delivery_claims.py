# Claims let one worker take a backlog of webhook deliveries as one batch. The pending
# deliveries' index is built CONCURRENTLY on Postgres: the table keeps every delivery ever
# received and must keep taking them while it builds.

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("ingestion", "0005_replyattempt_last_attempt_at_webhook_body_sha256"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="claimed_by",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("processed_at__isnull", True)),
                fields=["platform", "id"],
                name="webhook_delivery_pending_idx",
            ),
        ),
    ]
