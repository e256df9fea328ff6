"""The live cockpit: the state of the queues now, pushed to supervisors as it changes."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from core.models import Conversation, Platform
from ingestion.services import ingest_item
from parley.asgi import application
from reports.selectors import cockpit
from sla.models import SlaTimer, TimerKind, TimerState
from sla.services import sweep_timers
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    InboundItemFactory,
    PlatformAccountFactory,
)
from tests.reports.conftest import grant
from tests.reports.dataset import inbound, outbound


def open_conversation(*, team, account, waiting_minutes, assignee=None, sla_state=None):
    now = timezone.now()
    conversation = ConversationFactory(team=team, account=account, assignee=assignee)
    conversation.last_inbound_at = now - timedelta(minutes=waiting_minutes)
    conversation.save()
    # Received when its first post arrived, as ingestion opens one.
    Conversation.objects.filter(pk=conversation.pk).update(created_at=conversation.last_inbound_at)
    inbound(conversation, conversation.last_inbound_at)
    if sla_state:
        SlaTimer.objects.create(
            conversation=conversation,
            kind=TimerKind.FIRST_RESPONSE,
            state=sla_state,
            target_seconds=900,
            started_at=now - timedelta(minutes=30),
            due_at=now + timedelta(minutes=1),
        )
    return conversation


def test_queues_per_team_and_platform_with_attention_list_and_agent_load(default_team, agent):
    supervisor = AgentFactory(
        username="lead", first_name="Sam", last_name="Lee", teams=[default_team]
    )
    grant(supervisor, "receive_team_alerts")
    agent.first_name = "Ana"
    agent.save()
    demo = PlatformAccountFactory()
    x = PlatformAccountFactory(platform=Platform.TWITTER)
    open_conversation(team=default_team, account=demo, waiting_minutes=12)
    breached = open_conversation(
        team=default_team,
        account=demo,
        waiting_minutes=3,
        assignee=agent,
        sla_state=TimerState.BREACHED,
    )
    at_risk = open_conversation(
        team=default_team, account=x, waiting_minutes=7, sla_state=TimerState.AT_RISK
    )
    answered = open_conversation(team=default_team, account=x, waiting_minutes=40)
    answered_at = timezone.now() - timedelta(minutes=39)
    outbound(answered, answered_at)
    answered.first_response_at = answered_at
    answered.save()

    snapshot = cockpit(supervisor)

    queues = {q["platform"]: q for q in snapshot["queues"]}
    assert (queues["demo"]["depth"], queues["demo"]["unassigned"]) == (2, 1)
    assert (queues["demo"]["breached"], queues["demo"]["at_risk"]) == (1, 0)
    assert 12 * 60 <= queues["demo"]["oldest_waiting_seconds"] < 13 * 60
    # The conversation answered 39 minutes ago is not waiting: the oldest on X is 7 minutes.
    assert 7 * 60 <= queues["twitter"]["oldest_waiting_seconds"] < 8 * 60
    oldest = snapshot["totals"].pop("oldest_waiting_since")
    assert oldest == queues["demo"]["oldest_waiting_since"]
    assert snapshot["totals"] == {"depth": 4, "unassigned": 3, "at_risk": 1, "breached": 1}
    assert [(row["id"], row["state"]) for row in snapshot["attention"]] == [
        (breached.pk, "breached"),
        (at_risk.pk, "at_risk"),
    ]
    assert snapshot["attention"][0]["url"] == f"/conversations/{breached.pk}/"
    # People are named as the inbox names them: their name, not their username.
    assert snapshot["attention"][0]["assignee"] == "Ana"
    loads = {row["agent"]: row["load"] for row in snapshot["agents"]}
    assert loads == {"Ana": 1, "Sam Lee": 0}


def test_posts_per_minute_now_against_the_usual_rate(default_team):
    supervisor = AgentFactory(teams=[default_team])
    account = PlatformAccountFactory()
    conversation = ConversationFactory(team=default_team, account=account)
    now = timezone.now()
    for minutes_ago in [1, 2, 3, 4, 4.5]:  # five in the last five minutes
        inbound(conversation, now - timedelta(minutes=minutes_ago))
    for hours_ago in range(1, 101):  # a hundred over the week before
        inbound(conversation, now - timedelta(hours=hours_ago))

    for days_ago in range(8, 12):  # history older than the week does not count
        inbound(conversation, now - timedelta(days=days_ago))

    rate = cockpit(supervisor, now=now)["rate"]

    assert rate["now"] == 1.0
    assert rate["usual"] == round(100 / (7 * 24 * 60), 2)
    assert rate["learning"] is False


async def _connect(user, path="/ws/cockpit/"):
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://127.0.0.1")]
    )
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


@database_sync_to_async
def _supervisor_and_account():
    from core.models import Team

    team = Team.objects.create(name="Care", slug="care", is_default=True)
    supervisor = AgentFactory(teams=[team])
    grant(supervisor, "receive_team_alerts")
    return supervisor, PlatformAccountFactory()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_cockpit_gets_a_new_snapshot_when_a_post_arrives():
    supervisor, account = await _supervisor_and_account()
    socket, connected, _ = await _connect(supervisor)
    assert connected
    first = await socket.receive_json_from(timeout=5)
    assert first["cockpit"]["totals"]["depth"] == 0

    await database_sync_to_async(ingest_item)(
        account=account, item=InboundItemFactory(text="@brand my parcel is lost")
    )

    update = await socket.receive_json_from(timeout=5)
    assert update["because"] == ["post.received"]
    assert update["cockpit"]["totals"]["depth"] == 1
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_cockpit_hears_a_breach_and_lists_the_conversation():
    supervisor, account = await _supervisor_and_account()
    ingested = await database_sync_to_async(ingest_item)(account=account, item=InboundItemFactory())
    post = ingested.post
    socket, connected, _ = await _connect(supervisor)
    assert connected
    await socket.receive_json_from(timeout=5)

    later = timezone.now() + timedelta(hours=2)
    await database_sync_to_async(sweep_timers)(now=later)

    alerts = []
    while (message := await socket.receive_json_from(timeout=5))["event"] != "cockpit":
        alerts.append(message)
    # First response and resolution both breached; the snapshot after them counts one
    # conversation.
    assert {alert["alert"]["conversation_id"] for alert in alerts} == {post.conversation_id}
    assert {alert["alert"]["event"] for alert in alerts} == {"sla.breached"}
    snapshot = message["cockpit"]
    assert snapshot["totals"]["breached"] == 1
    assert snapshot["attention"][0]["id"] == post.conversation_id
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_agents_who_are_not_supervisors_are_refused():
    agent = await database_sync_to_async(AgentFactory)()

    _, connected, code = await _connect(agent)

    assert not connected
    assert code == 4403
