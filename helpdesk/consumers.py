"""The WebSockets: the inbox (each agent hears about their teams' conversations) and one
conversation page (its changes, and who else is viewing or typing there)."""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async

from core.consumers import RevocableConsumer, UserGroupsConsumer, inbox_groups_for
from core.realtime import CONVERSATION_PAGES_GROUP, conversation_group, user_sockets_group
from core.selectors import display_name, visible_conversations

from .selectors import conversation_cards

logger = logging.getLogger(__name__)


class InboxConsumer(UserGroupsConsumer):
    async def conversations_changed(self, message: dict) -> None:
        # One frame per card: the page updates row by row.
        # The request id says which request (or task) made the change: logs to browser.
        request_id = message.get("request_id")
        for card in message["conversations"]:
            await self.send_json(
                {"event": message["event"], "conversation": card, "request_id": request_id}
            )

    def groups_for(self, user) -> list[str]:
        return inbox_groups_for(user)


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
            "name": display_name(user),
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
            await self.send_json(
                {
                    "event": message["event"],
                    "conversation": cards[0],
                    "request_id": message.get("request_id"),
                }
            )

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
