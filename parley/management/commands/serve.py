import asyncio
import copy
import logging
import os

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from parley.connections import POSTGRESQL, use_connection_pool
from parley.embedded import run_beat_schedule
from parley.listeners import listening_sockets

logger = logging.getLogger(__name__)

# What each process of `serve` runs: parley.asgi's application, pooled and group-committing.
SERVED_APP = "parley.serving:application"


def web_processes(*, run_schedule: bool = False) -> int:
    """How many web processes `serve` starts: WEB_CONCURRENCY, or one per core when it is 0.

    Only one where processes would not share their state: SQLite (one writer at a time), no
    Redis (the in-memory channel layer would only reach the sockets of its own process, the
    cache's rate limits would count per process) or the periodic tasks run in-process.
    """
    wanted = settings.WEB_CONCURRENCY or _cores()
    shared = settings.DATABASES["default"]["ENGINE"] == POSTGRESQL and bool(settings.REDIS_URL)
    if wanted > 1 and (not shared or run_schedule):
        if settings.WEB_CONCURRENCY > 1:
            logger.warning(
                "WEB_CONCURRENCY=%d ignored: one web process on SQLite, without Redis or with "
                "the periodic tasks in-process",
                settings.WEB_CONCURRENCY,
            )
        return 1
    return max(1, wanted)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def uvicorn_config(
    *, host: str, port: int, app: str = "parley.asgi:application", workers: int = 1
) -> uvicorn.Config:
    """How Parley is served: forwarded headers believed only from TRUSTED_PROXY_IPS, and
    uvicorn's own log lines (request paths with their query strings) redacted."""
    trusted = list(settings.TRUSTED_PROXY_IPS)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=workers,
        lifespan="off",
        log_level="info",
        # uvicorn's default trusts X-Forwarded-For from 127.0.0.1 (or FORWARDED_ALLOW_IPS):
        # any local client could then pick its address, and the login lock-out's key.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        # The browser sends only typing notices over its sockets.
        ws_max_size=64 * 1024,
        # JSON logs: uvicorn's lines (startup, access log) go through settings.LOGGING like
        # the rest, so a log collector reads one format; plain logs keep uvicorn's own,
        # redacted in every process (a worker process configures its logging from this).
        log_config=None if settings.LOG_FORMAT == "json" else _redacted_uvicorn_logging(),
    )
    return config


def run_web_processes(config: uvicorn.Config) -> None:
    """Serve `config.app` from `config.workers` processes under uvicorn's supervisor: each
    imports the application afresh (spawned, not forked), one that dies is replaced, and on
    Linux each listens on a socket of its own so the kernel spreads the connections among
    them (parley.listeners). Returns once the supervisor has stopped them (SIGINT, SIGTERM)."""
    sockets = listening_sockets(config)
    try:
        Multiprocess(config, sockets=sockets).run()
    finally:
        for sock in sockets:
            sock.close()


def _redacted_uvicorn_logging() -> dict:
    """uvicorn's own handlers (plain logs), which settings.LOGGING does not reach, with the
    redaction filter."""
    logging_config = copy.deepcopy(LOGGING_CONFIG)
    logging_config.setdefault("filters", {})["redact"] = {
        "()": "reliability.redaction.RedactingFilter"
    }
    for handler in logging_config["handlers"].values():
        handler.setdefault("filters", []).append("redact")
    return logging_config


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
        processes = web_processes(run_schedule=run_schedule)
        if processes > 1:
            run_web_processes(
                uvicorn_config(host=host, port=port, app=SERVED_APP, workers=processes)
            )
            return
        asyncio.run(self._serve(host, port, run_schedule))

    async def _serve(self, host: str, port: int, run_schedule: bool) -> None:
        server = uvicorn.Server(uvicorn_config(host=host, port=port, app=SERVED_APP))
        schedule = asyncio.create_task(run_beat_schedule()) if run_schedule else None
        try:
            await server.serve()
        finally:
            if schedule is not None:
                schedule.cancel()
