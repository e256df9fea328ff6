"""What `/healthz` reports: whether the database, the broker/cache and the channel layer
answer."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .observability import BEAT_SEEN_KEY, WORKER_SEEN_KEY, last_seen

logger = logging.getLogger(__name__)

OK = "ok"
CHECK_TIMEOUT_SECONDS = 2


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def check_broker() -> str:
    """The cache and, when REDIS_URL is set, the Redis broker behind Celery."""
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT_SECONDS).ping()
    return OK


def check_channel_layer() -> str:
    async def round_trip() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "healthz"})
        received = await asyncio.wait_for(layer.receive(channel), timeout=CHECK_TIMEOUT_SECONDS)
        if received.get("type") != "healthz":
            raise RuntimeError("channel layer returned another message")

    async_to_sync(round_trip)()
    return OK


CHECKS = {"database": check_database, "broker": check_broker, "channel_layer": check_channel_layer}


FAILED = "failed"


def public_health(report: dict[str, str]) -> dict[str, str]:
    """The report without the failures' details: "ok" or "failed" per component."""
    return {name: OK if value == OK else FAILED for name, value in report.items()}


def health_report() -> tuple[bool, dict[str, str]]:
    report: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            report[name] = check()
        except Exception as error:
            logger.warning("Health check %s failed: %s", name, error)
            report[name] = f"failed: {error}"
    return all(value == OK for value in report.values()), report


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Each component ok or failed; why it failed (exception text: hosts, ports, versions)
    only for staff, the rest of the world gets the verdicts alone."""
    healthy, report = health_report()
    if not request.user.is_staff:
        report = public_health(report)
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", **report}, status=200 if healthy else 503
    )


# --- Liveness and readiness (/livez, /readyz) ---------------------------------------------------


def check_workers() -> str:
    """A Celery worker said it was alive recently (it writes a heartbeat while it runs)."""
    return _seen_recently(WORKER_SEEN_KEY, "worker", settings.HEALTH_WORKER_SEEN_SECONDS)


def check_beat() -> str:
    """Celery beat published its schedule recently."""
    return _seen_recently(BEAT_SEEN_KEY, "beat", settings.HEALTH_BEAT_SEEN_SECONDS)


def _seen_recently(key: str, what: str, within_seconds: float) -> str:
    if current_app.conf.task_always_eager:
        # The embedded defaults: tasks and the schedule run inside the web process.
        return OK
    seen = last_seen(key)
    if seen is None:
        raise RuntimeError(f"no {what} seen since the cache was last emptied")
    age = time.time() - seen
    if age > within_seconds:
        raise RuntimeError(f"no {what} seen for {age:.0f} s")
    return OK


READINESS_CHECKS = {**CHECKS, "workers": check_workers, "beat": check_beat}


def readiness_report() -> tuple[bool, dict[str, str]]:
    """Each component `ok` or `failed: why`; ready when all are ok."""
    report: dict[str, str] = {}
    for name, check in READINESS_CHECKS.items():
        try:
            report[name] = check()
        except Exception as error:
            logger.warning("Readiness check %s failed: %s", name, error)
            report[name] = f"failed: {error}"
    return all(value == OK for value in report.values()), report
