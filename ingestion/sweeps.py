"""The sweep that queues again the inbound and outbound work whose task was lost.

Rows are committed before their task is queued (reliability.services); when the broker was
down at that moment, or a worker died mid-task, the row waits here: webhook deliveries never
processed, posts never triaged, replies never attempted or abandoned mid-retry.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from core.models import DeliveryStatus, Direction, Post
from reliability.services import (
    dead_first_args,
    first_requeue_lately,
    publish,
    queue_backlog,
    task_named,
)

from .services import stranded_work

logger = logging.getLogger(__name__)

STRANDED_BATCH = 500
# The last sweep's counts, for /metrics; dropped when no sweep ran for this long (they run
# every RELIABILITY_SWEEP_SECONDS, 30 by default).
STRANDED_COUNTS_KEY = "parley:stranded-work"
STRANDED_COUNTS_KEPT_SECONDS = 600


def untriaged_posts(*, now: datetime | None = None) -> list[int]:
    """Inbound posts stored but never triaged: their processing task was lost."""
    cutoff = (now or timezone.now()) - timedelta(
        seconds=settings.RELIABILITY_STRANDED_AFTER_SECONDS
    )
    dead = dead_first_args("ingestion.tasks.process_inbound_post")
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


def requeue_stranded_work(*, now: datetime | None = None) -> dict[str, int]:
    """Queue again everything committed whose task never ran or was lost: webhook deliveries
    never processed, posts never triaged, replies never attempted or abandoned mid-retry."""
    deliver_reply, process_inbound_post, process_webhook_delivery = (
        task_named(f"ingestion.tasks.{name}")
        for name in ("deliver_reply", "process_inbound_post", "process_webhook_delivery")
    )
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
        if not first_requeue_lately(task.name, object_id):
            continue
        if not publish(task, object_id):
            # The broker is down: the rest waits for the next tick rather than each publish
            # timing out in turn.
            break
    counts = {"deliveries": len(deliveries), "posts": len(posts), "replies": len(replies)}
    # What /metrics shows as stranded work: this sweep's finding, which it gives up when
    # sweeps stop (finding it again at each scrape would be a scan of the posts).
    cache.set(STRANDED_COUNTS_KEY, counts, timeout=STRANDED_COUNTS_KEPT_SECONDS)
    if any(counts.values()):
        logger.info("Re-queued stranded work: %s", counts)
    return counts
