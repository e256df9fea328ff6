"""Agents' notification choices (profile page) decide what their alert socket delivers:
SLA alerts, mentions and assignments alike; and who gets a mention by e-mail."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core import mail

from core.models import AgentPreferences
from core.realtime import user_group
from helpdesk.services import add_note
from sla.consumers import SlaAlertConsumer
from tests.factories import AgentFactory, ConversationFactory

ALERT = {"alert_id": "7:1:breached", "event": "sla.breached", "text": "Breached"}


def delivered(user) -> list[dict]:
    """What the person's socket receives for one alert sent to their group."""

    async def listen() -> list[dict]:
        communicator = WebsocketCommunicator(SlaAlertConsumer.as_asgi(), "/ws/sla/")
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        assert connected
        await get_channel_layer().group_send(
            user_group(user.pk), {"type": "sla.alert", "alert": ALERT}
        )
        received = []
        if not await communicator.receive_nothing(timeout=0.3):
            received.append(await communicator.receive_json_from(timeout=1))
        await communicator.disconnect()
        return received

    return async_to_sync(listen)()


@pytest.mark.django_db(transaction=True)
def test_an_agent_without_choices_gets_in_page_notices_only(default_team):
    agent = AgentFactory(teams=[default_team])

    assert delivered(agent) == [{**ALERT, "show_in_page": True, "show_desktop": False}]


@pytest.mark.django_db(transaction=True)
def test_desktop_only_choice_is_sent_without_the_in_page_notice(default_team):
    agent = AgentFactory(teams=[default_team])
    AgentPreferences.objects.create(user=agent, notify_in_page=False, notify_desktop=True)

    assert delivered(agent) == [{**ALERT, "show_in_page": False, "show_desktop": True}]


@pytest.mark.django_db(transaction=True)
def test_an_agent_who_turned_notices_off_hears_nothing(default_team):
    agent = AgentFactory(teams=[default_team])
    AgentPreferences.objects.create(user=agent, notify_in_page=False, notify_desktop=False)

    assert delivered(agent) == []


@pytest.mark.django_db(transaction=True)
def test_a_mention_is_emailed_only_to_those_who_asked(default_team):
    author = AgentFactory(teams=[default_team], username="ana")
    wants = AgentFactory(teams=[default_team], username="bo", email="bo@example.com")
    AgentFactory(teams=[default_team], username="cy", email="cy@example.com")
    AgentPreferences.objects.create(user=wants, notify_by_email=True)
    conversation = ConversationFactory(team=default_team)

    add_note(conversation_id=conversation.pk, author=author, text="@bo @cy can you look?")

    assert [message.to for message in mail.outbox] == [["bo@example.com"]]
    assert "@bo @cy can you look?" in mail.outbox[0].body
    assert f"/conversations/{conversation.pk}/" in mail.outbox[0].body
