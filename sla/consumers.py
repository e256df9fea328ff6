"""The SLA alert WebSocket: an agent hears about their own conversations' thresholds, and a
supervisor (an agent with the `sla.receive_team_alerts` permission) about their teams'."""

from __future__ import annotations

from core.consumers import UserGroupsConsumer
from core.selectors import visible_team_ids

from .models import SUPERVISOR_PERMISSION
from .services import alert_team_group, alert_user_group


class SlaAlertConsumer(UserGroupsConsumer):
    async def sla_alert(self, message: dict) -> None:
        await self.send_json(message["alert"])

    def groups_for(self, user) -> list[str]:
        return alert_groups_for(user)


def alert_groups_for(user) -> list[str]:
    groups = [alert_user_group(user.pk)]
    if user.has_perm(SUPERVISOR_PERMISSION):
        groups += [alert_team_group(team_id) for team_id in visible_team_ids(user)]
    return groups
