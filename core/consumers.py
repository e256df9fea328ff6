"""The base of every socket: a signed-in user listening to the groups their visibility allows."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .realtime import ALL_CONVERSATIONS_GROUP, team_group
from .selectors import can_see_all_conversations, visible_team_ids


class UserGroupsConsumer(AsyncJsonWebsocketConsumer):
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
        self.groups_joined = await database_sync_to_async(self.groups_for)(user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.accepted()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    def allowed(self, user) -> bool:
        return True

    def groups_for(self, user) -> list[str]:
        raise NotImplementedError

    async def accepted(self) -> None:
        """Called once the socket is open and its groups joined."""


def inbox_groups_for(user) -> list[str]:
    if can_see_all_conversations(user):
        return [ALL_CONVERSATIONS_GROUP]
    return [team_group(team_id) for team_id in visible_team_ids(user)]
