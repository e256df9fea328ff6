import asyncio

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from parley.embedded import run_beat_schedule


class Command(BaseCommand):
    help = (
        "Serve Parley (HTTP and WebSockets) with uvicorn. On the embedded defaults (no Redis) "
        "it also runs the periodic tasks — polling the platforms, the demo feed — in-process."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-schedule",
            action="store_true",
            help="Do not run the periodic tasks here (Celery beat runs them).",
        )

    def handle(self, *args, host, port, no_schedule, **options):
        run_schedule = settings.CELERY_TASK_ALWAYS_EAGER and not no_schedule
        asyncio.run(self._serve(host, port, run_schedule))

    async def _serve(self, host: str, port: int, run_schedule: bool) -> None:
        config = uvicorn.Config(
            "parley.asgi:application", host=host, port=port, lifespan="off", log_level="info"
        )
        server = uvicorn.Server(config)
        schedule = asyncio.create_task(run_beat_schedule()) if run_schedule else None
        try:
            await server.serve()
        finally:
            if schedule is not None:
                schedule.cancel()
