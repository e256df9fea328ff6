"""The WebSockets: the inbox (each agent hears about their teams' conversations) and one
conversation page (its changes, and who else is viewing or typing there)."""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .realtime import (
    ALL_CONVERSATIONS_GROUP,
    CONVERSATION_PAGES_GROUP,
    conversation_group,
    team_group,
    user_sockets_group,
)
from .selectors import (
    can_see_all_conversations,
    conversation_cards,
    visible_conversations,
    visible_team_ids,
)

logger = logging.getLogger(__name__)


class RevocableConsumer(AsyncJsonWebsocketConsumer):
    """A signed-in user's socket that closes when their access changes (helpdesk.socket_access):
    4403 when their teams, roles or account changed, 4401 when its session logged out."""

    async def sockets_revoke(self, message: dict) -> None:
        session_key = message.get("session_key")
        if session_key and session_key != _session_key(self.scope):
            return
        # Out of every group first: nothing more reaches it while the close handshake runs.
        await self.leave_groups()
        await self.close(code=4401 if session_key else 4403)

    async def disconnect(self, code: int) -> None:
        await self.leave_groups()

    async def leave_groups(self) -> None:
        """Stop listening to everything the socket joined; safe to call twice."""


def _session_key(scope) -> str:
    session = scope.get("session")
    return (getattr(session, "session_key", None) or "") if session is not None else ""


class UserGroupsConsumer(RevocableConsumer):
    """A socket for a signed-in user that listens to the groups `groups_for(user)` names.

    Refuses anonymous users (4401) and users `allowed` turns away (4403), before joining.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if not await database_sync_to_async(self.allowed)(user):
            await self.close(code=4403)
            return
        self.groups_joined = [
            *await database_sync_to_async(self.groups_for)(user),
            user_sockets_group(user.pk),
        ]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.accepted()

    async def leave_groups(self) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    def allowed(self, user) -> bool:
        return True

    def groups_for(self, user) -> list[str]:
        raise NotImplementedError

    async def accepted(self) -> None:
        """Called once the socket is open and its groups joined."""


class InboxConsumer(UserGroupsConsumer):
    async def conversations_changed(self, message: dict) -> None:
        # One frame per card: the page updates row by row.
        for card in message["conversations"]:
            await self.send_json({"event": message["event"], "conversation": card})

    def groups_for(self, user) -> list[str]:
        return inbox_groups_for(user)


def inbox_groups_for(user) -> list[str]:
    if can_see_all_conversations(user):
        return [ALL_CONVERSATIONS_GROUP]
    return [team_group(team_id) for team_id in visible_team_ids(user)]


class ConversationConsumer(RevocableConsumer):
    """One open conversation page: its live changes, and who else has it open or is typing.

    Presence lives in the group messages alone (no table): a newcomer announces itself, those
    already there answer it directly, a closing page says goodbye. Visibility is the views',
    checked at connect and again at every change of the conversation: a conversation moved
    to a team the user is not in closes the socket (4403) instead of showing the change.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        if not await database_sync_to_async(self._may_see)(user, self.conversation_id):
            await self.close(code=4403)
            return
        self.group = conversation_group(self.conversation_id)
        self.agent = {
            "channel": self.channel_name,
            "user_id": user.pk,
            "name": user.first_name or user.get_username(),
        }
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(CONVERSATION_PAGES_GROUP, self.channel_name)
        await self.channel_layer.group_add(user_sockets_group(user.pk), self.channel_name)
        await self.accept()
        await self._announce("join")

    async def leave_groups(self) -> None:
        if getattr(self, "group", None) is None:
            return
        await self._announce("leave")
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.channel_layer.group_discard(CONVERSATION_PAGES_GROUP, self.channel_name)
        await self.channel_layer.group_discard(
            user_sockets_group(self.agent["user_id"]), self.channel_name
        )
        self.group = None

    async def receive_json(self, content, **kwargs) -> None:
        # The page says when its agent types or stops; anything else is ignored.
        if getattr(self, "group", None) is None:  # access revoked, closing
            return
        if isinstance(content, dict) and content.get("type") in ("typing", "idle"):
            await self._announce(content["type"])

    @classmethod
    async def decode_json(cls, text_data: str):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            logger.warning(
                "Ignored a conversation socket message that is not JSON: %.100r", text_data
            )
            return None

    async def presence(self, message: dict) -> None:
        if message["agent"]["channel"] == self.channel_name:
            return
        await self.send_json({"event": "presence", "action": message["action"], **_public(message)})
        if message["action"] == "join":
            # Tell the newcomer we are here too.
            await self.channel_layer.send(
                message["agent"]["channel"],
                {"type": "presence", "action": "here", "agent": self.agent},
            )

    async def conversations_touched(self, message: dict) -> None:
        if self.conversation_id not in message["ids"]:
            return
        user = self.scope["user"]
        visible, cards = await database_sync_to_async(self._visible_card)(user)
        if not visible:
            await self.leave_groups()
            await self.close(code=4403)
        elif cards:
            await self.send_json({"event": message["event"], "conversation": cards[0]})

    def _visible_card(self, user) -> tuple[bool, list[dict]]:
        if not self._may_see(user, self.conversation_id):
            return False, []
        return True, conversation_cards([self.conversation_id])

    async def _announce(self, action: str) -> None:
        await self.channel_layer.group_send(
            self.group, {"type": "presence", "action": action, "agent": self.agent}
        )

    @staticmethod
    def _may_see(user, conversation_id: int) -> bool:
        return visible_conversations(user).filter(pk=conversation_id).exists()


def _public(message: dict) -> dict:
    agent = message["agent"]
    return {"channel": agent["channel"], "user_id": agent["user_id"], "name": agent["name"]}
