"""What operators watch Parley by: a request id on every log line (and into the Celery tasks
a request queues), and heartbeats of the Celery workers and beat (errors to Sentry: sentry.py).

The request id is django-guid's: its middleware takes the caller's `X-Request-ID` or makes
one, and `RequestIdFilter` puts it on each log record. Its Celery side is here rather than
django-guid's own integration, which gives an eager task (the embedded defaults run tasks in
the request) a fresh id and then clears the request's, so the rest of the request and its
response header lost theirs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import signals
from django.core.cache import cache
from django_guid import clear_guid, get_guid, set_guid
from django_guid.utils import generate_guid

logger = logging.getLogger(__name__)

# The message header that carries the request id from the publisher to the worker.
REQUEST_ID_HEADER = "parley_request_id"
WORKER_SEEN_KEY = "parley:health:worker-seen"
BEAT_SEEN_KEY = "parley:health:beat-seen"
# A worker writes its heartbeat at most this often, however many tasks it runs.
HEARTBEAT_EVERY_SECONDS = 10.0


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record: the request's or task's id, "-" outside both."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_guid() or "-"
        return True


# --- The request id across Celery -------------------------------------------------------------


@signals.before_task_publish.connect
def _send_request_id(headers: dict | None = None, **kwargs: Any) -> None:
    request_id = get_guid()
    if request_id and headers is not None:
        headers[REQUEST_ID_HEADER] = request_id
    if _this_process_is_beat:
        _record_seen(BEAT_SEEN_KEY)


@signals.task_prerun.connect
def _adopt_request_id(task: Any = None, **kwargs: Any) -> None:
    if task is None or task.request.is_eager:
        # Runs inside the request (or task) that queued it: the id is already the right one.
        return
    set_guid(task.request.get(REQUEST_ID_HEADER) or generate_guid())


@signals.task_postrun.connect
def _forget_request_id(task: Any = None, **kwargs: Any) -> None:
    if task is None or task.request.is_eager:
        return
    clear_guid()
    _record_seen(WORKER_SEEN_KEY)


# --- Heartbeats for /readyz -------------------------------------------------------------------

_this_process_is_beat = False
_last_seen: dict[str, float] = {}


@signals.beat_init.connect
def _mark_beat_process(**kwargs: Any) -> None:
    global _this_process_is_beat
    _this_process_is_beat = True
    _record_seen(BEAT_SEEN_KEY, force=True)


@signals.worker_ready.connect
def _worker_started(sender: Any = None, **kwargs: Any) -> None:
    _record_seen(WORKER_SEEN_KEY, force=True)
    # An idle worker (no task to run) is still alive: say so on a timer too.
    timer = getattr(sender, "timer", None)
    if timer is not None:
        timer.call_repeatedly(HEARTBEAT_EVERY_SECONDS, _record_seen, (WORKER_SEEN_KEY,))


def _record_seen(key: str, force: bool = False) -> None:
    """Write "seen now" to the shared cache, at most every HEARTBEAT_EVERY_SECONDS per
    process; never fails the task or publish it runs beside."""
    now = time.time()
    if not force and now - _last_seen.get(key, 0.0) < HEARTBEAT_EVERY_SECONDS:
        return
    _last_seen[key] = now
    try:
        cache.set(key, now, timeout=None)
    except Exception as error:
        logger.debug("Could not record %s: %s", key, error)


def last_seen(key: str) -> float | None:
    """When a worker or beat last said it was alive (epoch seconds), None if never."""
    return cache.get(key)
