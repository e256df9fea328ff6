"""Running the Celery beat schedule inside the web server, for the embedded defaults.

Without Redis there is no worker and no beat; tasks already run eagerly in-process, and this
loop calls the periodic ones on their schedule. It runs on the server's own event loop, so
the in-memory channel layer delivers what the tasks broadcast to the connected browsers.

The SLA sweep also runs at the second the next timer crosses a threshold: a worker gets
that from the exact checks (eta tasks), which mean nothing when tasks run in-process, and
the alerts must not trail the inbox's countdown by a sweep period.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from celery import current_app
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

SLA_SWEEP_ENTRY = "sweep-sla-timers"


def seconds_to_next_sla_threshold() -> float | None:
    from sla.selectors import next_threshold_at

    now = timezone.now()
    instant = next_threshold_at(now=now)
    return None if instant is None else (instant - now).total_seconds()


async def run_beat_schedule() -> None:
    entries = [
        (name, entry["task"], float(entry["schedule"]))
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    ]
    next_run = dict.fromkeys((name for name, _, _ in entries), 0.0)
    loop = asyncio.get_running_loop()
    while True:
        now = loop.time()
        for name, task_name, every in entries:
            if now >= next_run[name]:
                next_run[name] = now + every
                try:
                    await sync_to_async(current_app.tasks[task_name].apply)()
                except Exception:
                    logger.exception("Embedded schedule: %s failed", name)
        if SLA_SWEEP_ENTRY in next_run:
            try:
                threshold = await sync_to_async(seconds_to_next_sla_threshold)()
            except Exception:
                logger.exception("Embedded schedule: could not read the next SLA threshold")
                threshold = None
            if threshold is not None:
                # Just after the instant, so the sweep sees it passed.
                at = loop.time() + max(threshold, 0) + 0.05
                next_run[SLA_SWEEP_ENTRY] = min(next_run[SLA_SWEEP_ENTRY], at)
        await asyncio.sleep(max(0.1, min(next_run.values()) - loop.time()))
