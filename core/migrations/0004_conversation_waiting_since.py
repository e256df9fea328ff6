"""The queue's "waiting since" stored on the conversation: `open_turn_started_at` (kept by
core.turns), backfilled from the open customer turns, and `waiting_since`, a column the
database computes from it and the SLA columns, indexed for the queue's default order."""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrentlyOnPostgres

# Plain SQL both databases run: each conversation's unanswered turn (at most one).
BACKFILL_OPEN_TURNS = """
UPDATE helpdesk_conversation SET open_turn_started_at = (
    SELECT MIN(turn.started_at) FROM reports_customerturn turn
    WHERE turn.conversation_id = helpdesk_conversation.id AND turn.answered_at IS NULL
)
WHERE EXISTS (
    SELECT 1 FROM reports_customerturn turn
    WHERE turn.conversation_id = helpdesk_conversation.id AND turn.answered_at IS NULL
)
"""




def team_assignee_statistics(apps, schema_editor):
    """Postgres: tell the planner that an assignee works in few teams, so "Mine" (an
    assignee within the agent's teams) is not estimated as a handful of rows and read whole
    before sorting, but paged from conversation_queue_mine_idx."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE STATISTICS IF NOT EXISTS conversation_assignee_team_stats "
        "(dependencies, ndistinct) ON assignee_id, team_id FROM helpdesk_conversation"
    )
    schema_editor.execute("ANALYZE helpdesk_conversation")


def drop_team_assignee_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP STATISTICS IF EXISTS conversation_assignee_team_stats")


class Migration(migrations.Migration):
    # The index is built CONCURRENTLY on Postgres, which cannot run in a transaction.
    atomic = False

    dependencies = [
        ("core", "0003_queue_partial_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="open_turn_started_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(BACKFILL_OPEN_TURNS, migrations.RunSQL.noop, elidable=True),
        migrations.AddField(
            model_name="conversation",
            name="waiting_since",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Case(
                    models.When(needs_reply=False, then=models.Value(None)),
                    models.When(first_response_at__isnull=True, then=models.F("created_at")),
                    default=models.F("open_turn_started_at"),
                ),
                output_field=models.DateTimeField(blank=True, null=True),
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(
                    ("needs_reply", True), ("status__in", ("new", "open", "pending"))
                ),
                fields=["waiting_since"],
                include=("team", "assignee", "snoozed_until", "first_response_at"),
                name="conversation_queue_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(
                    ("needs_reply", True), ("status__in", ("new", "open", "pending"))
                ),
                fields=["team", "waiting_since"],
                include=("assignee", "snoozed_until", "first_response_at"),
                name="conversation_queue_team_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(
                    ("needs_reply", True), ("status__in", ("new", "open", "pending"))
                ),
                fields=["assignee", "waiting_since"],
                include=("team", "snoozed_until", "first_response_at"),
                name="conversation_queue_mine_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["team"],
                name="conversation_pending_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(("needs_reply", False)),
                fields=["created_at"],
                include=("status", "team"),
                name="conversation_noreply_idx",
            ),
        ),
        migrations.RunPython(team_assignee_statistics, drop_team_assignee_statistics),
    ]
