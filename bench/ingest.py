"""Ingest throughput: a storm of X webhook deliveries through the whole real path.

Deliveries are stored and queued as the webhook intake does: committed in groups of up to
ingestion.intake.MAX_DELIVERIES_PER_COMMIT, one message per group
(reliability.services.enqueue_drain_on_commit_in_background); Celery workers claim the waiting
deliveries in batches, parse them with the X connector, classify their posts (one predict
per model for the batch), and store, route and put them on the SLA clock in one
transaction, then broadcast them on the channel layer. The clock stops when every post is
stored and triaged. The baseline writes the same customers, conversations and posts into
the same tables with Django's bulk_create in the same run.
"""

from __future__ import annotations

import json
import time

from django.db import connection
from django.utils import timezone

from . import data
from .common import BRAND_ID, children_of, peak_rss_mb, reset_traffic, wait_for_worker

# A bound on waiting, not a target: the storm must drain well within it.
DRAIN_TIMEOUT_SECONDS = 600


def run(
    *,
    posts: int,
    per_delivery: int,
    concurrency: int,
    storms: int = 1,
    single_posts: int = 0,
    worker_pid: int | None = None,
) -> dict:
    """Needs a Celery worker pool of `concurrency` processes on the bench queue (the runner
    starts it after the triage benchmark and leaves it running to the end).

    The storm, and the baseline, run `storms` times each and the fastest counts: other work
    on a shared machine only ever adds time. Then `single_posts` posts arrive one per
    delivery, as X's Account Activity API sends them; `worker_pid`'s pool is measured for
    its peak resident memory.
    """
    from core.models import Post
    from sla.models import SlaTimer

    deliveries = data.storm_payloads(brand_id=BRAND_ID, count=posts, per_delivery=per_delivery)
    seconds = [_storm(deliveries, posts=posts) for _ in range(storms)]
    timers = SlaTimer.objects.count()
    conversations = Post.objects.values("conversation").distinct().count()
    raw_rate = max(raw_insert_rate(posts=posts) for _ in range(storms))
    rate = posts / min(seconds)
    single = {}
    if single_posts:
        single_deliveries = data.storm_payloads(
            brand_id=BRAND_ID, count=single_posts, per_delivery=1
        )
        single_rate = single_posts / min(
            _storm(single_deliveries, posts=single_posts) for _ in range(storms)
        )
        single = {
            "ingest_posts_single": single_posts,
            "ingest_posts_per_s_single": round(single_rate, 1),
            "ingest_ratio_to_raw_insert_single": round(single_rate / raw_rate, 4),
        }
    if worker_pid is not None:
        pool = [worker_pid, *children_of(worker_pid)]
        single["worker_rss_mb"] = max(filter(None, map(peak_rss_mb, pool)), default=None)
    return {
        "benchmark": "ingest",
        "ingest_posts": posts,
        "ingest_per_delivery": per_delivery,
        "ingest_workers": concurrency,
        "ingest_conversations": conversations,
        "ingest_sla_timers": timers,
        "ingest_seconds": round(min(seconds), 2),
        "ingest_seconds_each_storm": [round(value, 2) for value in seconds],
        "ingest_posts_per_s": round(rate, 1),
        "baseline": "bulk_create of the same customers, conversations and posts",
        "raw_insert_posts_per_s": round(raw_rate, 1),
        "ingest_ratio_to_raw_insert": round(rate / raw_rate, 4),
        **single,
    }


def _storm(deliveries: list[dict], *, posts: int) -> float:
    """Seconds from queueing the deliveries until every post is stored and triaged."""
    from core.models import Platform, Post
    from ingestion.intake import MAX_DELIVERIES_PER_COMMIT
    from ingestion.models import WebhookDelivery
    from ingestion.tasks import process_webhook_delivery
    from parley.celery import app
    from reliability.services import drain_started, enqueue_drain_on_commit_in_background

    reset_traffic()
    wait_for_worker()
    app.control.purge()
    # The purge may have dropped a waiting message of the draining task: forget its mark.
    drain_started(process_webhook_delivery)
    started = time.perf_counter()
    stored = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(platform=Platform.TWITTER, body_text=json.dumps(body))
        for body in deliveries
    )
    ids = [delivery.pk for delivery in stored]
    for first in range(0, len(ids), MAX_DELIVERIES_PER_COMMIT):
        # As the intake queues a committed group: one message through the publisher thread,
        # which sends none while one of the draining task's waits.
        group = ids[first : first + MAX_DELIVERIES_PER_COMMIT]
        enqueue_drain_on_commit_in_background(process_webhook_delivery, group)
    deadline = started + DRAIN_TIMEOUT_SECONDS
    pending = WebhookDelivery.objects.filter(processed_at__isnull=True)
    done = 0
    while time.perf_counter() < deadline:
        # The deliveries left are few rows to count; the posts, only once they are done
        # (a batch whose processing failed is processed apart, after its delivery).
        if not pending.exists():
            done = Post.objects.exclude(intent="").count()
            if done >= posts:
                break
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    if done < posts:
        raise RuntimeError(f"Only {done} of {posts} posts were processed in {elapsed:.0f}s")
    return elapsed


def raw_insert_rate(*, posts: int) -> float:
    """Posts per second when the same rows go in with bulk_create, without any processing."""
    from core.models import Conversation, Customer, Direction, Post
    from ingestion.connectors.twitter import parse_account_activity
    from ingestion.models import PlatformAccount

    account = PlatformAccount.objects.get(external_id=BRAND_ID)
    items = [
        webhook_item.item
        for body in data.storm_payloads(brand_id=BRAND_ID, count=posts, per_delivery=100)
        for webhook_item in parse_account_activity(body).items
    ]
    reset_traffic()
    started = time.perf_counter()
    now = timezone.now()
    customers = {}
    for item in items:
        customers.setdefault(
            item.author.external_id,
            Customer(
                platform=account.platform,
                external_id=item.author.external_id,
                handle=item.author.handle,
                display_name=item.author.display_name,
                follower_count=item.author.follower_count,
                is_verified=item.author.is_verified,
            ),
        )
    Customer.objects.bulk_create(customers.values(), batch_size=1000)
    conversations = {
        key: Conversation(customer=customer, account=account, last_inbound_at=now)
        for key, customer in customers.items()
    }
    Conversation.objects.bulk_create(conversations.values(), batch_size=1000)
    Post.objects.bulk_create(
        (
            Post(
                conversation=conversations[item.author.external_id],
                direction=Direction.INBOUND,
                platform=account.platform,
                external_id=item.external_id,
                customer=customers[item.author.external_id],
                text=item.text,
                in_reply_to=item.in_reply_to,
                created_at=item.created_at,
                raw=item.raw,
            )
            for item in items
        ),
        batch_size=1000,
    )
    elapsed = time.perf_counter() - started
    reset_traffic()
    connection.close()
    return posts / elapsed
