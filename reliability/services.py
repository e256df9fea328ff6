"""Keeping work from being lost between the database and the broker.

Every row that needs a task (a webhook delivery, an inbound post, an outbound reply) is
committed first; the task is queued after commit. If the broker is down at that moment the
publish fails, is logged and the row waits: `requeue_stranded_work` (a beat task) finds rows
whose task never ran and queues them again. Handlers are idempotent, so a task queued twice
does its work once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import ChannelError

from helpdesk.models import DeliveryStatus, Direction, Post

from .models import DeadLetter

logger = logging.getLogger(__name__)

STRANDED_BATCH = 500


def enqueue_on_commit(task, *args) -> None:
    """Queue `task(*args)` once the current transaction commits, never failing the caller.

    A broker that is down loses only the message, not the work: the row is committed and the
    sweep queues it again. In eager mode the task runs in-process and its errors propagate.
    """
    transaction.on_commit(lambda: publish(task, *args))


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
        error=error,
        traceback=traceback,
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


def _dead_first_args(task_name: str) -> set:
    """First arguments (ids) of dead tasks not yet replayed: the sweep leaves those alone."""
    return {
        args[0]
        for args in DeadLetter.objects.filter(
            task_name=task_name, replayed_at__isnull=True
        ).values_list("args", flat=True)
        if args
    }


def untriaged_posts(*, now: datetime | None = None) -> list[int]:
    """Inbound posts stored but never triaged: their processing task was lost."""
    cutoff = (now or timezone.now()) - timedelta(
        seconds=settings.RELIABILITY_STRANDED_AFTER_SECONDS
    )
    dead = _dead_first_args("helpdesk.tasks.process_inbound_post")
    ids = (
        Post.objects.filter(direction=Direction.INBOUND, intent="", received_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:STRANDED_BATCH]
    )
    return [post_id for post_id in ids if post_id not in dead]


def abandoned_replies(*, now: datetime | None = None) -> list[int]:
    """Pending replies attempted before whose task is gone (a broker restart lost it, or the
    worker died mid-call), left untouched longer than any retry backoff or claim."""
    now = now or timezone.now()
    quiet_since = now - timedelta(seconds=settings.RELIABILITY_REPLY_RETRY_AFTER_SECONDS)
    claim_expired = now - timedelta(seconds=settings.INGESTION_REPLY_CLAIM_SECONDS)
    return list(
        Post.objects.filter(
            direction=Direction.OUTBOUND,
            delivery_status=DeliveryStatus.PENDING,
            reply_attempt__isnull=False,
        )
        .filter(
            Q(
                reply_attempt__claimed_at__isnull=True,
                reply_attempt__last_attempt_at__lt=quiet_since,
            )
            | Q(reply_attempt__claimed_at__lt=claim_expired)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:STRANDED_BATCH]
    )


def _first_requeue_lately(task_name: str, object_id: int) -> bool:
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


def requeue_stranded_work(*, now: datetime | None = None) -> dict[str, int]:
    """Queue again everything committed whose task never ran or was lost: webhook deliveries
    never processed, posts never triaged, replies never attempted or abandoned mid-retry."""
    from helpdesk.tasks import process_inbound_post
    from ingestion.services import stranded_work
    from ingestion.tasks import deliver_reply, process_webhook_delivery

    backlog = queue_backlog()
    if backlog is not None and backlog > settings.RELIABILITY_SWEEP_MAX_BACKLOG:
        # Workers are behind: what looks stranded is most likely still queued. Adding it
        # again would only grow the queue; the sweep waits until the backlog is worked off.
        logger.info("Not re-queueing stranded work: %d messages still queued", backlog)
        return {"deliveries": 0, "posts": 0, "replies": 0}
    deliveries, fresh_replies = stranded_work(now=now)
    posts = untriaged_posts(now=now)
    replies = sorted({*fresh_replies, *abandoned_replies(now=now)})
    work = [
        *((process_webhook_delivery, delivery_id) for delivery_id in deliveries),
        *((process_inbound_post, post_id) for post_id in posts),
        *((deliver_reply, post_id) for post_id in replies),
    ]
    for task, object_id in work:
        if not _first_requeue_lately(task.name, object_id):
            continue
        if not publish(task, object_id):
            # The broker is down: the rest waits for the next tick rather than each publish
            # timing out in turn.
            break
    counts = {"deliveries": len(deliveries), "posts": len(posts), "replies": len(replies)}
    if any(counts.values()):
        logger.info("Re-queued stranded work: %s", counts)
    return counts
