"""Open sockets stop receiving as soon as their user loses access (security, item 3): a team
left, a conversation moved away, a deactivated account, a logout."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from core.roles import SUPERVISOR
from ingestion.services import ingest_item
from parley.asgi import application
from tests.factories import (
    AGENT_PASSWORD,
    AgentFactory,
    ConversationFactory,
    InboundItemFactory,
    PostFactory,
    TeamFactory,
    move_in_admin,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = [(b"origin", b"http://127.0.0.1")]


async def _open(user, path: str, *, session=None) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, path, headers=ORIGIN)
    socket.scope["user"] = user
    if session is not None:
        socket.scope["session"] = session
    connected, _ = await socket.connect()
    assert connected
    return socket


async def _closed_with(socket: WebsocketCommunicator) -> int:
    message = await socket.receive_output(timeout=3)
    assert message["type"] == "websocket.close", message
    return message["code"]


@database_sync_to_async
def _ingest(account, text: str):
    return ingest_item(account=account, item=InboundItemFactory(text=text)).post


async def test_agent_removed_from_a_team_stops_hearing_its_conversations(
    demo_account, agent, default_team
):
    inbox = await _open(agent, "/ws/inbox/")

    await database_sync_to_async(agent.agent_profile.teams.remove)(default_team)

    assert await _closed_with(inbox) == 4403
    await _ingest(demo_account, "@brand after you left")
    assert await inbox.receive_nothing(timeout=0.3)


async def test_removing_agents_from_the_team_side_closes_their_sockets(agent, default_team):
    inbox = await _open(agent, "/ws/inbox/")

    await database_sync_to_async(default_team.agents.clear)()

    assert await _closed_with(inbox) == 4403


async def test_deactivated_user_sockets_close(agent):
    inbox = await _open(agent, "/ws/sla/")

    agent.is_active = False
    await database_sync_to_async(agent.save)()

    assert await _closed_with(inbox) == 4403


async def test_superuser_status_taken_away_closes_the_sockets(default_team):
    admin = await database_sync_to_async(AgentFactory)(teams=[], is_superuser=True)
    inbox = await _open(admin, "/ws/inbox/")

    admin.is_superuser = False
    await database_sync_to_async(admin.save)()

    assert await _closed_with(inbox) == 4403


async def test_signing_in_elsewhere_leaves_open_sockets_alone(agent):
    inbox = await _open(agent, "/ws/inbox/")

    await database_sync_to_async(Client().login)(username=agent.username, password=AGENT_PASSWORD)

    assert await inbox.receive_nothing(timeout=0.3)
    await inbox.disconnect()


async def test_supervisor_role_taken_away_closes_the_all_teams_socket(default_team):
    supervisor = await database_sync_to_async(AgentFactory)(teams=[])
    role = await database_sync_to_async(Group.objects.get)(name=SUPERVISOR)
    await database_sync_to_async(supervisor.groups.add)(role)
    supervisor = await database_sync_to_async(get_user_model().objects.get)(pk=supervisor.pk)
    inbox = await _open(supervisor, "/ws/inbox/")

    await database_sync_to_async(supervisor.groups.remove)(role)

    assert await _closed_with(inbox) == 4403


async def test_conversation_moved_to_another_team_closes_its_page_for_the_old_team(
    agent, default_team
):
    conversation = await database_sync_to_async(ConversationFactory)(team=default_team)
    await database_sync_to_async(PostFactory)(conversation=conversation)
    page = await _open(agent, f"/ws/conversations/{conversation.pk}/")
    other_team = await database_sync_to_async(TeamFactory)()
    moved = await database_sync_to_async(move_in_admin)(conversation, other_team)

    assert moved.status_code == 302, moved.content.decode()[:2000]
    assert await _closed_with(page) == 4403


async def test_logout_closes_the_sockets_of_that_session_only(agent):
    browser, other_browser = Client(), Client()
    await database_sync_to_async(browser.force_login)(agent)
    await database_sync_to_async(other_browser.force_login)(agent)
    logged_out = await _open(
        agent, "/ws/inbox/", session=await database_sync_to_async(_session)(browser)
    )
    still_in = await _open(
        agent, "/ws/inbox/", session=await database_sync_to_async(_session)(other_browser)
    )

    await database_sync_to_async(browser.post)("/logout/")

    assert await _closed_with(logged_out) == 4401
    assert await still_in.receive_nothing(timeout=0.3)
    await still_in.disconnect()


def _session(client: Client):
    from importlib import import_module

    from django.conf import settings

    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(client.session.session_key)
