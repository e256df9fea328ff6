import asyncio
import logging

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from parley.connections import use_connection_pool
from parley.embedded import run_beat_schedule
from reliability.redaction import RedactingFilter


def uvicorn_config(*, host: str, port: int) -> uvicorn.Config:
    """How Parley is served: forwarded headers believed only from TRUSTED_PROXY_IPS, and
    uvicorn's own log lines (request paths with their query strings) redacted."""
    trusted = list(settings.TRUSTED_PROXY_IPS)
    config = uvicorn.Config(
        "parley.asgi:application",
        host=host,
        port=port,
        lifespan="off",
        log_level="info",
        # uvicorn's default trusts X-Forwarded-For from 127.0.0.1 (or FORWARDED_ALLOW_IPS):
        # any local client could then pick its address, and the login lock-out's key.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        # The browser sends only typing notices over its sockets.
        ws_max_size=64 * 1024,
        # JSON logs: uvicorn's lines (startup, access log) go through settings.LOGGING like
        # the rest, so a log collector reads one format; plain logs keep uvicorn's own.
        **({"log_config": None} if settings.LOG_FORMAT == "json" else {}),
    )
    # Config() has just installed uvicorn's handlers (plain logs), which settings.LOGGING does
    # not reach.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
    return config


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
        use_connection_pool()
        run_schedule = settings.CELERY_TASK_ALWAYS_EAGER and not no_schedule
        asyncio.run(self._serve(host, port, run_schedule))

    async def _serve(self, host: str, port: int, run_schedule: bool) -> None:
        server = uvicorn.Server(uvicorn_config(host=host, port=port))
        schedule = asyncio.create_task(run_beat_schedule()) if run_schedule else None
        try:
            await server.serve()
        finally:
            if schedule is not None:
                schedule.cancel()
