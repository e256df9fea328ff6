"""The inbox WebSocket: each agent hears about the conversations of the teams they work in."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .realtime import ALL_CONVERSATIONS_GROUP, team_group
from .selectors import can_see_all_conversations, visible_team_ids


class InboxConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = await database_sync_to_async(self._groups_for)(user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def conversation_changed(self, message: dict) -> None:
        await self.send_json({"event": message["event"], "conversation": message["conversation"]})

    @staticmethod
    def _groups_for(user) -> list[str]:
        if can_see_all_conversations(user):
            return [ALL_CONVERSATIONS_GROUP]
        return [team_group(team_id) for team_id in visible_team_ids(user)]
