"""The base of every socket: a signed-in user listening to the groups their visibility allows."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .realtime import ALL_CONVERSATIONS_GROUP, team_group, user_sockets_group
from .selectors import can_see_all_conversations, visible_team_ids


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
    """A socket for a signed-in user that listens to the groups `groups_for(user)` names, and
    to its user's (core.realtime.close_user_sockets).

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


def inbox_groups_for(user) -> list[str]:
    if can_see_all_conversations(user):
        return [ALL_CONVERSATIONS_GROUP]
    return [team_group(team_id) for team_id in visible_team_ids(user)]
