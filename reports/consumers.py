"""The live cockpit WebSocket: a supervisor's page gets a fresh snapshot whenever one of
their conversations changes, an SLA threshold passes or a spike is detected.

It joins the groups the inbox and the SLA alerts already broadcast to, so nothing else has to
know the cockpit exists. A burst of posts is coalesced into one snapshot.
"""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async

from core.consumers import UserGroupsConsumer, inbox_groups_for
from sla.consumers import alert_groups_for
from sla.models import SUPERVISOR_PERMISSION

from .selectors import cockpit
from .services import SPIKES_GROUP

# Wait this long after a change for more before recomputing the snapshot.
COALESCE_SECONDS = 0.3


class CockpitConsumer(UserGroupsConsumer):
    pending_events: list[str]
    refresh: asyncio.Task | None = None

    def allowed(self, user) -> bool:
        return user.has_perm(SUPERVISOR_PERMISSION)

    def groups_for(self, user) -> list[str]:
        return [*inbox_groups_for(user), *alert_groups_for(user), SPIKES_GROUP]

    async def accepted(self) -> None:
        self.pending_events = []
        await self._send_snapshot(["connected"])

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.refresh is not None:
            self.refresh.cancel()

    async def conversations_changed(self, message: dict) -> None:
        self._soon(message["event"])

    async def sla_alert(self, message: dict) -> None:
        await self.send_json({"event": "sla.alert", "alert": message["alert"]})
        self._soon(message["alert"]["event"])

    async def spike_alert(self, message: dict) -> None:
        await self.send_json({"event": "spike.alert", "spike": message["spike"]})
        self._soon("spike.alert")

    def _soon(self, event: str) -> None:
        self.pending_events.append(event)
        if self.refresh is None:
            self.refresh = asyncio.create_task(self._refresh_after_pause())

    async def _refresh_after_pause(self) -> None:
        await asyncio.sleep(COALESCE_SECONDS)
        events, self.pending_events = sorted(set(self.pending_events)), []
        self.refresh = None
        await self._send_snapshot(events)

    async def _send_snapshot(self, events: list[str]) -> None:
        snapshot = await database_sync_to_async(cockpit)(self.scope["user"])
        await self.send_json({"event": "cockpit", "because": events, "cockpit": snapshot})
