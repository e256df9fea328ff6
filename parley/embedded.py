"""Running the Celery beat schedule inside the web server, for the embedded defaults.

Without Redis there is no worker and no beat; tasks already run eagerly in-process, and this
loop calls the periodic ones on their schedule. It runs on the server's own event loop, so
the in-memory channel layer delivers what the tasks broadcast to the connected browsers.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from celery import current_app
from django.conf import settings

logger = logging.getLogger(__name__)


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
        await asyncio.sleep(max(0.1, min(next_run.values()) - loop.time()))
