"""The domain models moved from helpdesk (and reports) to core keeping their tables: a
database built before the move keeps its rows, its grants and its history after it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core.models import Conversation, CustomerTurn, Post, Team
from core.selectors import can_see_all_conversations
from reliability.models import DeadLetter
from sla.models import SlaTimer

# Every app as it was on the main before the move.
BEFORE_THE_MOVE = [
    ("core", None),
    ("helpdesk", "0011_conversation_snoozed_index"),
    ("reports", "0002_customer_turns"),
    ("ingestion", "0006_webhook_delivery_claims"),
    ("routing", "0002_routingrule_account_routingrule_add_tags_and_more"),
    ("sla", "0004_report_covering_indexes"),
    ("triage", "0001_initial"),
    ("reliability", "0001_initial"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]


def _migrate(targets):
    """Migrate the test database to `targets`; Django's state of the apps there."""
    MigrationExecutor(connection).migrate(targets)
    nodes = [(app, name) for app, name in targets if name is not None]
    return MigrationExecutor(connection).loader.project_state(nodes).apps


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_keeps_its_rows_grants_and_dead_letters():
    old = _migrate(BEFORE_THE_MOVE)
    now = timezone.now()
    account = old.get_model("ingestion", "PlatformAccount").objects.create(
        platform="x", handle="acme", external_id="1"
    )
    team = old.get_model("helpdesk", "Team").objects.create(name="Care", slug="care")
    customer = old.get_model("helpdesk", "Customer").objects.create(
        platform="x", external_id="42", handle="dana"
    )
    conversation = old.get_model("helpdesk", "Conversation").objects.create(
        customer=customer, account=account, team=team
    )
    post_model = old.get_model("helpdesk", "Post")
    question = post_model.objects.create(
        conversation=conversation,
        customer=customer,
        platform="x",
        external_id="t1",
        direction="inbound",
        text="Is my order lost?",
        created_at=now,
    )
    post_model.objects.create(
        conversation=conversation,
        platform="x",
        external_id="t2",
        direction="outbound",
        text="Looking now",
        created_at=now,
    )
    old.get_model("reports", "CustomerTurn").objects.create(
        conversation=conversation, post=question, started_at=now
    )
    old.get_model("sla", "SlaTimer").objects.create(
        conversation=conversation, kind="first_response", target_seconds=900, started_at=now
    )
    content_type = old.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="helpdesk", model="conversation"
    )[0]
    see_all = old.get_model("auth", "Permission").objects.get_or_create(
        content_type=content_type,
        codename="view_all_conversations",
        defaults={"name": "Can see every team's conversations"},
    )[0]
    old.get_model("auth", "Group").objects.create(name="Night shift").permissions.add(see_all)
    old.get_model("reliability", "DeadLetter").objects.create(
        task_name="helpdesk.tasks.process_inbound_post",
        task_id="t",
        args=[question.pk],
        kwargs={},
        retries=3,
        error="boom",
    )

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    moved = Conversation.objects.select_related("team", "customer").get(pk=conversation.pk)
    assert (moved.team.name, moved.customer.handle) == ("Care", "dana")
    assert list(Post.objects.filter(conversation=moved).values_list("text", flat=True)) == [
        "Is my order lost?",
        "Looking now",
    ]
    assert CustomerTurn.objects.get().post_id == question.pk
    assert SlaTimer.objects.get().conversation_id == moved.pk
    assert Team.objects.get().slug == "care"
    # The grant follows the model: a user of the group now sees every team, as before.
    night_shift = Group.objects.get(name="Night shift")
    user = night_shift.user_set.model.objects.create(username="nina")
    user.groups.add(night_shift)
    assert can_see_all_conversations(user)
    # A task that moved module is replayable under its new name.
    assert DeadLetter.objects.get().task_name == "ingestion.tasks.process_inbound_post"
