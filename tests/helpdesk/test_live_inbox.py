"""The inbox WebSocket: who hears about which conversation."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from core.models import Platform
from ingestion.services import ingest_item
from parley.asgi import application
from tests.factories import AgentFactory, InboundItemFactory, PlatformAccountFactory, TeamFactory
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, META_APP_SECRET, payload
from tests.ingestion.test_webhooks import meta_signature, post_meta

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, "/ws/inbox/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@database_sync_to_async
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
    outsider = await database_sync_to_async(AgentFactory)(
        teams=[await database_sync_to_async(TeamFactory)()]
    )
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


async def test_a_webhook_deliverys_request_id_reaches_the_browser_push(agent, client):
    # The id the platform's delivery came in with (X-Request-ID), followed through the
    # processing task and the channel layer to the frame each watching browser gets.
    await database_sync_to_async(PlatformAccountFactory)(
        platform=Platform.FACEBOOK,
        external_id=FACEBOOK_PAGE_ID,
        credentials={"page_access_token": "page-token", "app_secret": META_APP_SECRET},
    )
    socket = await _connect(agent)
    body = json.dumps(payload("meta_feed_webhook.json")).encode()

    response = await database_sync_to_async(post_meta)(
        client.__class__(HTTP_X_REQUEST_ID="meta-delivery-5150"), body, meta_signature(body)
    )

    assert response.status_code == 200
    message = await socket.receive_json_from(timeout=5)
    assert message["event"] == "post.received"
    assert message["request_id"] == "meta-delivery-5150"
    await socket.disconnect()
