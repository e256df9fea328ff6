"""What browsers see: the timers JSON for countdowns and the alert socket."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.db.models import F
from django.utils import timezone

from core.models import Conversation
from parley.asgi import application
from sla.consumers import SlaAlertConsumer
from sla.models import SlaTimer
from sla.selectors import with_sla
from sla.services import recompute_timers, start_response_clocks, sweep_timers
from tests.factories import AGENT_PASSWORD, AgentFactory, PostFactory, TeamFactory


def started_conversation(team, **conversation):
    post = PostFactory(conversation__team=team, **conversation)
    start_response_clocks(conversation=post.conversation, post=post)
    post.conversation.save()
    return post.conversation


@pytest.mark.django_db
def test_an_agent_reads_the_timers_of_a_conversation_in_their_team(client, agent, default_team):
    conversation = started_conversation(default_team)
    client.login(username=agent.username, password=AGENT_PASSWORD)

    response = client.get(f"/sla/conversations/{conversation.pk}/timers/")

    assert response.status_code == 200
    timers = {timer["kind"]: timer for timer in response.json()["timers"]}
    assert set(timers) == {"first_response", "resolution"}
    assert timers["first_response"]["state"] == "ok"
    assert timers["first_response"]["due_at"] == conversation.first_response_due_at.isoformat()


@pytest.mark.django_db
def test_timers_of_another_teams_conversation_are_not_found(client, agent):
    conversation = started_conversation(TeamFactory())
    client.login(username=agent.username, password=AGENT_PASSWORD)

    response = client.get(f"/sla/conversations/{conversation.pk}/timers/")

    assert response.status_code == 404
    assert response.json() == {"error": "No such conversation in your teams."}


@pytest.mark.django_db
def test_an_anonymous_socket_is_refused():
    async def connect():
        communicator = WebsocketCommunicator(
            application, "/ws/sla/", headers=[(b"origin", b"http://127.0.0.1")]
        )
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    connected, code = async_to_sync(connect)()

    assert (connected, code) == (False, 4401)


@pytest.mark.django_db(transaction=True)
def test_a_connected_supervisor_hears_a_breach_in_their_team(default_team):
    supervisor = AgentFactory(teams=[default_team])
    supervisor.user_permissions.add(Permission.objects.get(codename="receive_team_alerts"))
    conversation = started_conversation(default_team)
    SlaTimer.objects.filter(conversation=conversation).update(
        started_at=timezone.now() - timezone.timedelta(minutes=20)
    )
    recompute_timers(conversation_id=conversation.pk, at=timezone.now())

    async def listen() -> dict:
        communicator = WebsocketCommunicator(SlaAlertConsumer.as_asgi(), "/ws/sla/")
        communicator.scope["user"] = supervisor
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(sweep_timers)(now=timezone.now())
        alert = await communicator.receive_json_from(timeout=2)
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()
        return alert

    alert = async_to_sync(listen)()

    assert alert["event"] == "sla.breached"
    assert alert["conversation_id"] == conversation.pk
    assert alert["team_id"] == default_team.pk


@pytest.mark.django_db
def test_the_inbox_can_sort_by_the_nearest_due_instant_and_filter_breached(default_team):
    calm, urgent, answered = (started_conversation(default_team) for _ in range(3))
    SlaTimer.objects.filter(conversation=urgent).update(
        started_at=timezone.now() - timezone.timedelta(minutes=20)
    )
    recompute_timers(conversation_id=urgent.pk, at=timezone.now())
    sweep_timers(now=timezone.now())
    SlaTimer.objects.filter(conversation=answered).update(stopped_at=timezone.now())

    ordered = with_sla(Conversation.objects.all()).order_by(F("sla_due_at").asc(nulls_last=True))
    breached = with_sla(Conversation.objects.all()).filter(sla_state="breached")

    assert list(ordered) == [urgent, calm, answered]
    assert list(breached) == [urgent]
