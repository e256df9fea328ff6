"""The conversation WebSocket: the views' visibility, presence between agents, live changes."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from helpdesk.services import send_reply
from ingestion.pipeline import process_inbound_posts
from parley.asgi import application
from tests.factories import AgentFactory, ConversationFactory, PostFactory, TeamFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _communicator(user, conversation_id: int) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        f"/ws/conversations/{conversation_id}/",
        headers=[(b"origin", b"http://127.0.0.1")],
    )
    communicator.scope["user"] = user
    return communicator


async def _open(user, conversation_id: int) -> WebsocketCommunicator:
    communicator = _communicator(user, conversation_id)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest.fixture
def conversation(default_team):
    conversation = ConversationFactory(team=default_team)
    PostFactory(conversation=conversation)
    return conversation


async def test_unauthenticated_socket_is_refused(conversation):
    connected, code = await _communicator(AnonymousUser(), conversation.pk).connect()

    assert not connected
    assert code == 4401


async def test_agent_of_another_team_is_refused(conversation):
    outsider = await database_sync_to_async(AgentFactory)(
        teams=[await database_sync_to_async(TeamFactory)()]
    )

    connected, code = await _communicator(outsider, conversation.pk).connect()

    assert not connected
    assert code == 4403


async def test_unknown_conversation_is_refused(agent):
    connected, code = await _communicator(agent, 999_999).connect()

    assert not connected
    assert code == 4403


async def test_supervisor_of_no_team_may_watch(conversation):
    supervisor = await database_sync_to_async(AgentFactory)(is_superuser=True)

    socket = await _open(supervisor, conversation.pk)

    await socket.disconnect()


async def test_a_second_agent_is_seen_viewing_and_typing_then_leaving(
    conversation, agent, default_team
):
    ana = await database_sync_to_async(AgentFactory)(teams=[default_team], first_name="Ana")
    first = await _open(agent, conversation.pk)

    second = await _open(ana, conversation.pk)

    joined = await first.receive_json_from(timeout=2)
    assert (joined["event"], joined["action"], joined["name"]) == ("presence", "join", "Ana")
    assert joined["user_id"] == ana.pk
    already_there = await second.receive_json_from(timeout=2)
    assert (already_there["action"], already_there["user_id"]) == ("here", agent.pk)

    await second.send_json_to({"type": "typing"})
    typing = await first.receive_json_from(timeout=2)
    assert (typing["action"], typing["name"]) == ("typing", "Ana")

    await second.disconnect()
    left = await first.receive_json_from(timeout=2)
    assert (left["action"], left["name"]) == ("leave", "Ana")
    await first.disconnect()


async def test_agent_does_not_hear_their_own_presence(conversation, agent):
    socket = await _open(agent, conversation.pk)

    await socket.send_json_to({"type": "typing"})

    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_presence_does_not_leak_to_another_conversation(conversation, agent, default_team):
    other = await database_sync_to_async(ConversationFactory)(team=default_team)
    ana = await database_sync_to_async(AgentFactory)(teams=[default_team], first_name="Ana")
    watching_other = await _open(agent, other.pk)

    here = await _open(ana, conversation.pk)

    assert await watching_other.receive_nothing(timeout=0.3)
    await here.disconnect()
    await watching_other.disconnect()


async def test_a_reply_reaches_the_page_watching_the_conversation(
    conversation, agent, default_team
):
    ana = await database_sync_to_async(AgentFactory)(teams=[default_team], first_name="Ana")
    socket = await _open(agent, conversation.pk)

    await database_sync_to_async(send_reply)(
        conversation_id=conversation.pk, agent=ana, text="On it!"
    )

    messages = [await socket.receive_json_from(timeout=2) for _ in range(2)]
    events = {message["event"] for message in messages}
    assert events == {"reply.sent", "reply.delivery"}
    assert all(message["conversation"]["id"] == conversation.pk for message in messages)
    assert messages[-1]["conversation"]["assignee_id"] == ana.pk
    await socket.disconnect()


async def test_a_batch_of_posts_reaches_only_the_pages_of_its_conversations(
    conversation, agent, default_team, demo_account
):
    other = await database_sync_to_async(ConversationFactory)(team=default_team)
    watching = await _open(agent, conversation.pk)
    watching_other = await _open(agent, other.pk)
    customer = await database_sync_to_async(lambda: conversation.customer)()
    new_post = await database_sync_to_async(PostFactory)(
        conversation=conversation, customer=customer
    )

    await database_sync_to_async(process_inbound_posts)(post_ids=[new_post.pk])

    message = await watching.receive_json_from(timeout=2)
    assert message["event"] == "post.received"
    assert message["conversation"]["id"] == conversation.pk
    assert message["conversation"]["intent"]
    assert await watching_other.receive_nothing(timeout=0.3)
    await watching.disconnect()
    await watching_other.disconnect()


async def test_unknown_client_messages_are_ignored(conversation, agent, default_team):
    ana = await database_sync_to_async(AgentFactory)(teams=[default_team])
    first = await _open(agent, conversation.pk)
    second = await _open(ana, conversation.pk)
    await first.receive_json_from(timeout=2)  # Ana joined
    await second.receive_json_from(timeout=2)  # the agent is here

    await second.send_json_to({"type": "presence", "action": "leave", "name": "Mallory"})

    assert await first.receive_nothing(timeout=0.3)
    await second.disconnect()
    await first.disconnect()


async def test_a_message_that_is_not_json_is_ignored_and_logged(conversation, agent, caplog):
    socket = await _open(agent, conversation.pk)

    await socket.send_to(text_data="{not json")

    assert await socket.receive_nothing(timeout=0.3)
    assert "not JSON" in caplog.text
    await socket.disconnect()
