"""A snoozed conversation comes back into the inbox, live, when its snooze ends."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from core.models import Conversation
from helpdesk.tasks import wake_snoozed_conversations
from parley.asgi import application
from tests.factories import ConversationFactory, PostFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_a_snooze_that_ended_brings_the_conversation_back_to_the_inbox(default_team, agent):
    now = timezone.now()
    ended = await database_sync_to_async(ConversationFactory)(
        team=default_team, snoozed_until=now - timedelta(seconds=5)
    )
    await database_sync_to_async(PostFactory)(conversation=ended, text="@brand still waiting")
    later = await database_sync_to_async(ConversationFactory)(
        team=default_team, snoozed_until=now + timedelta(hours=1)
    )
    socket = WebsocketCommunicator(
        application, "/ws/inbox/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    socket.scope["user"] = agent
    assert (await socket.connect())[0]

    woken = await database_sync_to_async(wake_snoozed_conversations.apply)()

    assert woken.get() == 1
    message = await socket.receive_json_from(timeout=5)
    assert message["event"] == "conversation.woke"
    assert message["conversation"]["id"] == ended.pk
    assert message["conversation"]["snoozed_until"] is None
    assert message["conversation"]["excerpt"] == "@brand still waiting"
    assert await socket.receive_nothing(timeout=0.3)
    snoozes = dict(
        await database_sync_to_async(list)(Conversation.objects.values_list("pk", "snoozed_until"))
    )
    assert snoozes[ended.pk] is None
    assert snoozes[later.pk] is not None
    # Nothing is left to wake: the next run is quiet.
    assert (await database_sync_to_async(wake_snoozed_conversations.apply)()).get() == 0
    await socket.disconnect()
