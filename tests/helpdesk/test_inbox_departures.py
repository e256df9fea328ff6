"""A conversation a rule (or an admin) moves to another team leaves the old team's inboxes
live: the old team's sockets hear of it, so their browsers ask for the row again and get
none, instead of showing it in a queue it has left until a reload."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from core.models import Conversation, Intent, Priority, Sentiment
from helpdesk.services import BulkAction, bulk_update_conversations, tag_conversation
from ingestion.connectors import InboundAuthor
from ingestion.services import ingest_item
from parley.asgi import application
from routing.models import RoutingRule
from routing.services import move_to_team
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    InboundItemFactory,
    PostFactory,
    TeamFactory,
    move_in_admin,
)
from triage.services import Classification

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _inbox_of(user) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(
        application, "/ws/inbox/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    socket.scope["user"] = user
    assert (await socket.connect())[0]
    return socket


async def _heard(socket: WebsocketCommunicator) -> set[int]:
    """The conversations the socket was told about, until it goes quiet."""
    heard = set()
    while not await socket.receive_nothing(timeout=0.5):
        heard.add((await socket.receive_json_from())["conversation"]["id"])
    return heard


@pytest.fixture
def vip_team():
    return TeamFactory(name="VIP care")


@database_sync_to_async
def _waiting_in(team) -> Conversation:
    conversation = ConversationFactory(team=team)
    PostFactory(conversation=conversation)
    return conversation


async def test_a_tag_rule_moving_a_conversation_tells_the_team_it_left(
    default_team, agent, vip_team
):
    await database_sync_to_async(RoutingRule.objects.create)(
        name="VIPs", has_tag="VIP", team=vip_team
    )
    conversation = await _waiting_in(default_team)
    colleague = await database_sync_to_async(AgentFactory)(teams=[default_team])
    inbox = await _inbox_of(colleague)

    await database_sync_to_async(tag_conversation)(
        conversation_id=conversation.pk, agent=agent, add="vip"
    )

    assert await _heard(inbox) == {conversation.pk}
    await inbox.disconnect()


async def test_bulk_tagging_tells_each_team_a_conversation_left(default_team, agent, vip_team):
    await database_sync_to_async(RoutingRule.objects.create)(
        name="VIPs", has_tag="VIP", team=vip_team
    )
    moved, other = await _waiting_in(default_team), await _waiting_in(vip_team)
    colleague = await database_sync_to_async(AgentFactory)(teams=[default_team])
    inbox = await _inbox_of(colleague)

    await database_sync_to_async(bulk_update_conversations)(
        conversation_ids=[moved.pk, other.pk], agent=agent, action=BulkAction.TAG, tag="VIP"
    )

    # The team the first left hears of it, not of the other team's conversation.
    assert await _heard(inbox) == {moved.pk}
    await inbox.disconnect()


async def test_a_priority_rise_moving_a_conversation_tells_the_team_it_left(
    default_team, vip_team, demo_account, monkeypatch
):
    def triage(posts):
        # An outage report is Urgent; anything else a Normal question.
        return [
            Classification(
                Intent.COMPLAINT if "down" in post.text else Intent.QUESTION,
                Sentiment.NEUTRAL,
                Priority.URGENT if "down" in post.text else Priority.NORMAL,
                confidence=0.9,
                reasons=[],
            )
            for post in posts
        ]

    monkeypatch.setattr("ingestion.store.triage_arriving", triage)
    author = InboundAuthor(external_id="id-maria", handle="maria", display_name="Maria")

    def write(text: str) -> Conversation:
        item = InboundItemFactory(text=text, author=author)
        post = ingest_item(account=demo_account, item=item).post
        return Conversation.objects.get(pk=post.conversation_id)

    conversation = await database_sync_to_async(write)("how do I change my address?")
    assert conversation.team_id == default_team.pk
    await database_sync_to_async(RoutingRule.objects.create)(
        name="Urgent to VIP care", team=vip_team, min_priority=Priority.HIGH
    )
    colleague = await database_sync_to_async(AgentFactory)(teams=[default_team])
    inbox = await _inbox_of(colleague)

    moved = await database_sync_to_async(write)("the whole app is down")

    assert (moved.pk, moved.team_id) == (conversation.pk, vip_team.pk)
    assert await _heard(inbox) == {conversation.pk}
    await inbox.disconnect()


async def test_an_agent_moving_a_conversation_tells_the_team_it_left(default_team, agent, vip_team):
    conversation = await _waiting_in(default_team)
    colleague = await database_sync_to_async(AgentFactory)(teams=[default_team])
    inbox = await _inbox_of(colleague)

    await database_sync_to_async(move_to_team)(
        conversation_id=conversation.pk, team=vip_team, by=agent
    )

    assert await _heard(inbox) == {conversation.pk}
    await inbox.disconnect()


async def test_an_admin_moving_a_conversation_tells_the_team_it_left(default_team, vip_team):
    conversation = await _waiting_in(default_team)
    colleague = await database_sync_to_async(AgentFactory)(teams=[default_team])
    inbox = await _inbox_of(colleague)
    moved = await database_sync_to_async(move_in_admin)(conversation, vip_team)

    assert moved.status_code == 302
    assert await _heard(inbox) == {conversation.pk}
    await inbox.disconnect()
