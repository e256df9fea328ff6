"""The SLA alert WebSocket: an agent hears about their own conversations' thresholds, and a
supervisor (an agent with the `sla.receive_team_alerts` permission) about their teams'."""

from __future__ import annotations

import time

from channels.db import database_sync_to_async

from core.consumers import UserGroupsConsumer
from core.selectors import NotificationChoices, notification_choices, visible_team_ids

from .models import SUPERVISOR_PERMISSION
from .services import alert_team_group, alert_user_group

# How long a socket trusts the notification choices it read: a change on the profile page
# reaches open sockets within this, without a query per alert in a storm of them.
CHOICES_TTL_SECONDS = 30


class SlaAlertConsumer(UserGroupsConsumer):
    """Delivers SLA alerts, mentions and assignments as the person chose on their profile:
    none when they want neither in-page nor desktop notices; otherwise each alert says
    which of the two to show (`show_in_page`, `show_desktop`). Team alerts reach a whole
    group, so the choice is applied here, per socket, not by the sender."""

    choices: NotificationChoices | None = None
    choices_read_at = 0.0

    async def sla_alert(self, message: dict) -> None:
        choices = await self.notification_choices()
        if not (choices.in_page or choices.desktop):
            return
        await self.send_json(
            {**message["alert"], "show_in_page": choices.in_page, "show_desktop": choices.desktop}
        )

    async def notification_choices(self) -> NotificationChoices:
        if self.choices is None or time.monotonic() - self.choices_read_at > CHOICES_TTL_SECONDS:
            self.choices = await database_sync_to_async(notification_choices)(self.scope["user"].pk)
            self.choices_read_at = time.monotonic()
        return self.choices

    def groups_for(self, user) -> list[str]:
        return alert_groups_for(user)


def alert_groups_for(user) -> list[str]:
    groups = [alert_user_group(user.pk)]
    if user.has_perm(SUPERVISOR_PERMISSION):
        groups += [alert_team_group(team_id) for team_id in visible_team_ids(user)]
    return groups
