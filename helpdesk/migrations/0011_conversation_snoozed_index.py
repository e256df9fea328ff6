# Waking snoozed conversations reads the few that are snoozed; built CONCURRENTLY on Postgres
# so the conversations table keeps taking writes (see 0008).

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("helpdesk", "0010_post_account"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(("snoozed_until__isnull", False)),
                fields=["snoozed_until"],
                name="conversation_snoozed_idx",
            ),
        ),
    ]
