"""The SLA alert WebSocket: an agent hears about their own conversations' thresholds, and a
supervisor (an agent with the `sla.receive_team_alerts` permission) about their teams'."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from helpdesk.selectors import visible_team_ids

from .models import SUPERVISOR_PERMISSION
from .services import alert_team_group, alert_user_group


class SlaAlertConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = await database_sync_to_async(alert_groups_for)(user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def sla_alert(self, message: dict) -> None:
        await self.send_json(message["alert"])


def alert_groups_for(user) -> list[str]:
    groups = [alert_user_group(user.pk)]
    if user.has_perm(SUPERVISOR_PERMISSION):
        groups += [alert_team_group(team_id) for team_id in visible_team_ids(user)]
    return groups
