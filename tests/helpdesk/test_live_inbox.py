"""The inbox WebSocket: who hears about which conversation."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from ingestion.services import ingest_item
from parley.asgi import application
from tests.factories import AgentFactory, InboundItemFactory, TeamFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, "/ws/inbox/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@sync_to_async
def _ingest(account, text: str):
    return ingest_item(account=account, item=InboundItemFactory(text=text)).post


async def test_new_post_reaches_the_connected_agent_of_its_team(demo_account, agent):
    socket = await _connect(agent)

    post = await _ingest(demo_account, "@brand is there a student discount?")

    message = await socket.receive_json_from(timeout=5)
    assert message["event"] == "post.received"
    assert message["conversation"]["id"] == post.conversation_id
    assert message["conversation"]["excerpt"] == "@brand is there a student discount?"
    assert message["conversation"]["first_response_due_at"]
    await socket.disconnect()


async def test_agent_of_another_team_hears_nothing(demo_account, agent):
    outsider = await sync_to_async(AgentFactory)(teams=[await sync_to_async(TeamFactory)()])
    socket = await _connect(outsider)

    await _ingest(demo_account, "@brand hello")

    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_anonymous_socket_is_refused():
    from django.contrib.auth.models import AnonymousUser

    communicator = WebsocketCommunicator(
        application, "/ws/inbox/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect()

    assert not connected
    assert code == 4401
