# Posts carry their conversation's account, so the reports count a period's posts per account
# from the covering index alone. The column is added empty (instant), filled in one statement,
# then the covering index is rebuilt with it (CONCURRENTLY on Postgres, the new one before the
# old one goes, as in 0008).

import django.db.models.deletion
from django.db import migrations, models

from core import migration_operations as concurrently

BACKFILL = """
    UPDATE helpdesk_post SET account_id = (
        SELECT account_id FROM helpdesk_conversation
        WHERE helpdesk_conversation.id = helpdesk_post.conversation_id
    )
    WHERE account_id IS NULL
"""


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("helpdesk", "0009_merge_20261125_0914"),
        ("ingestion", "0005_replyattempt_last_attempt_at_webhook_body_sha256"),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="account",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The brand account the post was received on or sent from.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="ingestion.platformaccount",
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        concurrently.AddIndexConcurrentlyOnPostgres(
            model_name="post",
            index=models.Index(
                fields=["direction", "created_at"],
                include=("id", "conversation", "platform", "account", "sentiment"),
                name="post_period_reports_v2_idx",
            ),
        ),
        concurrently.RemoveIndexConcurrentlyOnPostgres(
            model_name="post",
            name="post_period_reports_idx",
        ),
    ]
