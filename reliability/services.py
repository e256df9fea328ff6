"""Keeping work from being lost between the database and the broker.

Every row that needs a task (a webhook delivery, an inbound post, an outbound reply) is
committed first; the task is queued after commit. If the broker is down at that moment the
publish fails, is logged and the row waits: a sweep (ingestion.sweeps, a beat task) finds rows
whose task never ran and queues them again. Handlers are idempotent, so a task queued twice
does its work once. This module knows no domain: the sweep names the rows, it queues them.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import ChannelError

from .models import DeadLetter
from .redaction import redact

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args) -> None:
    """Queue `task(*args)` once the current transaction commits, never failing the caller.

    A broker that is down loses only the message, not the work: the row is committed and the
    sweep queues it again. In eager mode the task runs in-process and its errors propagate.
    """
    transaction.on_commit(lambda: publish(task, *args))


# One long-lived thread publishes for enqueue_on_commit_in_background. Under ASGI each request's
# sync code runs in a thread of its own, and Celery keeps its result backend and broker
# connection per thread: publishing from the request thread built a new Redis result backend
# for every webhook delivery (28 % of the intake's CPU in a profile, docs/performance.md).
_publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-publish")
atexit.register(_publisher.shutdown, wait=True)


def enqueue_on_commit_in_background(task, *args) -> None:
    """Like enqueue_on_commit, but the caller does not wait for the broker: after commit the
    message is handed to this process's publisher thread (with the caller's context, so the
    request id goes into the task). The row is committed before the caller answers, so a
    message lost with the process is queued again by the sweep like any failed publish. In
    eager mode the task runs in the caller, as enqueue_on_commit does."""
    if current_app.conf.task_always_eager:
        enqueue_on_commit(task, *args)
        return
    # The context now, not at commit: a group-commit writer (reliability.group_commit) commits
    # for many callers, each in its own context.
    context = contextvars.copy_context()
    transaction.on_commit(lambda: _hand_over(context, task, *args))


def enqueue_drain_on_commit_in_background(task, ids: Sequence) -> None:
    """For a draining task (`drains=True`, see `drain_started`) and rows committed together:
    one message after commit, named after the first row, stands for all of them, since the
    run it starts takes every row waiting. A batch of 500 rows was 500 hand-overs to the
    publisher thread, each looked at under a lock (issue 21).

    In eager mode (tests, the embedded defaults) each row's task runs at commit, as
    enqueue_on_commit_in_background does: an eager run queues nothing for the rows it leaves
    (`queue_drain`), such as another platform's.
    """
    if not ids:
        return
    if current_app.conf.task_always_eager:
        for row_id in ids:
            enqueue_on_commit(task, row_id)
        return
    enqueue_on_commit_in_background(task, ids[0])


def enqueue_drain_committed_in_background(task, ids: Sequence) -> None:
    """As enqueue_drain_on_commit_in_background, for rows committed already outside Django's
    transactions (the webhook writer's own connection, ingestion.intake): handed to the
    publisher thread now. Not for eager mode, where the task would run in the caller."""
    if ids:
        _hand_over(contextvars.copy_context(), task, ids[0])


# Draining tasks with a send handed to the publisher thread that has not looked at the mark yet.
_drain_sends_pending: set[str] = set()
_drain_sends_lock = threading.Lock()

# The publisher looks at a draining task's mark (a Redis round trip) at most this often per
# process; the rows committed meanwhile are covered by the next look. In a storm of one-post
# deliveries it was woken and looked once per committed batch, an eighth of a delivery's CPU
# in the web process (docs/performance.md); a worker now starts at most this much later.
DRAIN_LOOK_SPACING_SECONDS = 0.05
_last_drain_look: dict[str, float] = {}


def _hand_over(context: contextvars.Context, task, *args) -> None:
    if getattr(task, "drains", False):
        with _drain_sends_lock:
            if task.name in _drain_sends_pending:
                # The send waiting in the publisher looks at the mark after this commit, so
                # it stands for this row too: in a storm, one hand-over per look, not one
                # per committed batch (each woke the publisher thread).
                return
            _drain_sends_pending.add(task.name)
    _publisher.submit(_send, context, task, *args)


def wait_for_background_publishes(timeout: float = 10.0) -> None:
    """Return once every message handed to the publisher thread so far has been sent (or its
    failure logged): the thread takes them in order, so a no-op queued now runs last."""
    _publisher.submit(lambda: None).result(timeout=timeout)


def _send(context: contextvars.Context, task, *args) -> None:
    """Send `task(*args)` to the broker, whatever task_always_eager says by now: eagerness
    was decided when the message was handed over (task.delay would look again, in this
    thread, and could run the task here). A broker that cannot take it is logged. A draining
    task's message is not sent while one of its own waits (see `queue_drain`).

    Only the send runs in the caller's `context` (its request id goes into the message). The
    mark is looked at in this thread's own context: Django keeps its cache clients in
    context-local storage, so in each caller's copied context a new client, connection pool
    and Redis connection were made and dropped for every look (a seventh of a webhook
    delivery's CPU in a profile)."""
    draining = getattr(task, "drains", False)
    if draining:
        _space_drain_look(task.name)
        with _drain_sends_lock:
            # From here a row committed next is handed over again, and looked at after this.
            _drain_sends_pending.discard(task.name)
        _last_drain_look[task.name] = time.monotonic()
        if not _take_drain_slot(task.name):
            return
    try:
        # Nobody can wait for the result of a message sent from here (the AsyncResult is
        # dropped): without ignore_result, Celery subscribed to each task's result channel on
        # Redis at every send (a round trip per webhook delivery), and the worker stored it.
        context.run(current_app.send_task, task.name, args=args, ignore_result=True)
    except Exception as error:
        if draining:
            _release_drain_slot(task.name)
        context.run(
            logger.warning,
            "Could not queue %s%s (%s); the reliability sweep will queue it again",
            task.name,
            args,
            error,
        )


def _space_drain_look(task_name: str) -> None:
    """Wait (in the publisher thread) until the task's mark may be looked at again; a row
    committed meanwhile finds this send pending, so the look that follows covers it."""
    last = _last_drain_look.get(task_name)
    if last is not None:
        pause = last + DRAIN_LOOK_SPACING_SECONDS - time.monotonic()
        if pause > 0:
            _pause(pause)


_pause = time.sleep


def task_named(name: str):
    """The registered Celery task called `name`. A service queues the task that wraps it by
    name: the task module imports the service, and the import goes one way."""
    return current_app.tasks[name]


def publish(task, *args) -> bool:
    """Queue `task(*args)` now; False (and a log line) when the broker cannot take it."""
    if current_app.conf.task_always_eager:
        task.delay(*args)
        return True
    try:
        task.delay(*args)
    except Exception as error:
        logger.warning(
            "Could not queue %s%s (%s); the reliability sweep will queue it again",
            task.name,
            args,
            error,
        )
        return False
    return True


def record_dead_letter(
    *,
    task_name: str,
    task_id: str,
    args: list,
    kwargs: dict,
    retries: int,
    error: str,
    traceback: str = "",
) -> DeadLetter:
    logger.error("Task %s%s gave up after %d retries: %s", task_name, args, retries, error)
    return DeadLetter.objects.create(
        task_name=task_name,
        task_id=task_id,
        args=args,
        kwargs=kwargs,
        retries=retries,
        # A task's exception may carry a platform URL with its token in it.
        error=redact(error),
        traceback=redact(traceback),
    )


def replay_dead_letter(*, dead_letter_id: int) -> DeadLetter:
    """Queue a dead task again with its arguments (after commit) and mark it replayed."""
    with transaction.atomic():
        letter = DeadLetter.objects.select_for_update().get(pk=dead_letter_id)
        task = current_app.tasks[letter.task_name]
        letter.replayed_at = timezone.now()
        letter.replay_count += 1
        letter.save(update_fields=["replayed_at", "replay_count"])
        args, kwargs = list(letter.args), dict(letter.kwargs)
        transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))
    return letter


def dead_first_args(task_name: str) -> set:
    """First arguments (ids) of dead tasks not yet replayed: the sweep leaves those alone."""
    return {
        args[0]
        for args in DeadLetter.objects.filter(
            task_name=task_name, replayed_at__isnull=True
        ).values_list("args", flat=True)
        if args
    }


def first_requeue_lately(task_name: str, object_id: int) -> bool:
    """True at most once per RELIABILITY_REQUEUE_EVERY_SECONDS for one task and object.

    A worker working through a backlog must not find each stranded item queued again on
    every tick. The marks live in the cache (Redis): when Redis restarts, taking its queued
    messages with it, the marks go too and everything stranded is queued at once.
    """
    key = f"reliability:requeued:{task_name}:{object_id}"
    try:
        return cache.add(key, 1, timeout=settings.RELIABILITY_REQUEUE_EVERY_SECONDS)
    except Exception:
        return True  # no cache, probably no broker either: publish says so


def queue_backlog() -> int | None:
    """Messages waiting in the default queue; None when the broker cannot say (or is down)."""
    if current_app.conf.task_always_eager:
        return None
    try:
        with current_app.connection_for_write() as connection:
            # One quick try: a sweep must not wait out a broker outage.
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2)
            declared = connection.default_channel.queue_declare(
                queue=current_app.conf.task_default_queue, passive=True
            )
    except ChannelError as error:
        if "NOT_FOUND" in str(error):
            return 0  # Redis keeps no empty list: an emptied queue does not exist
        logger.debug("Queue length unknown: %s", error)
        return None
    except Exception as error:
        logger.debug("Queue length unknown: %s", error)
        return None
    return declared.message_count


# --- draining tasks: one waiting message stands for every row waiting ---------------------

# How long a sent message of a draining task is taken to be waiting, at most. It bounds the
# harm of a message lost with the broker (Redis killed): for that long no other message is
# sent and rows committed meanwhile wait for the next one, or for the sweep.
DRAIN_SLOT_SECONDS = 30


def _drain_slot_key(task_name: str) -> str:
    # Per queue: the mark stands for a message in this queue (several installs, or the
    # benchmarks, may share a Redis with queues of their own).
    return f"reliability:drain-waiting:{current_app.conf.task_default_queue}:{task_name}"


def _take_drain_slot(task_name: str) -> bool:
    """True when no message of the task is marked waiting; marks one (an atomic SET NX)."""
    try:
        return cache.add(_drain_slot_key(task_name), 1, timeout=DRAIN_SLOT_SECONDS)
    except Exception:
        return True  # no cache, probably no broker either: the publish says so


def _release_drain_slot(task_name: str) -> None:
    try:
        cache.delete(_drain_slot_key(task_name))
    except Exception:
        logger.debug("Could not clear the waiting mark of %s", task_name)


def drain_started(task) -> None:
    """A draining task calls this when it starts, BEFORE it reads the rows it drains.

    A task declared with `drains=True` takes every row waiting when it runs, not only the
    one its message names (ingestion.services.process_webhook_delivery claims the pending
    webhook deliveries). One message per row would then cost a broker round trip and a task
    run per row for nothing, which bound a storm of one-post X deliveries (issue 21). So
    while one of its messages waits, `enqueue_on_commit_in_background` sends no other; the
    mark is cleared here. Why nothing is left behind: a row is committed, then the mark is
    looked at; the task clears the mark, then reads. If the mark was there, the task that
    will clear it has not cleared it yet, so it reads after the commit and sees the row.
    """
    _release_drain_slot(task.name)


def queue_drain(task, *args) -> bool:
    """Queue a draining task again for the rows it left (a batch was full), unless one of its
    messages waits already; False when the broker refused it (the sweep will see the rows).
    In eager mode nothing is queued: there each row's own call runs the task at commit."""
    if current_app.conf.task_always_eager:
        return True
    if not _take_drain_slot(task.name):
        return True
    if publish(task, *args):
        return True
    _release_drain_slot(task.name)
    return False
