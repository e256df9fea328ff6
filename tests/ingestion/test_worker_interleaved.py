"""1,000 posts delivered by webhook and by poll, interleaved, against a real PostgreSQL, Redis
and Celery worker: every post stored once and threaded into its customer's conversation.

Webhook deliveries go through the real endpoint and are processed by the worker subprocess;
polls run in this process (their HTTP is replayed with `responses`, which only works here),
so the two paths write the same posts concurrently from two processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models import Count

from core.models import Conversation, Post
from ingestion.models import WebhookDelivery
from ingestion.services import poll_account
from parley.celery import app as celery_app
from tests.ingestion.conftest import X_ACCOUNT_ID
from tests.ingestion.test_webhooks import post_x, x_signature

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 100
POSTS_PER_CUSTOMER = 10
TOTAL = CUSTOMERS * POSTS_PER_CUSTOMER
ROUND = 50  # posts released per round: one poll, a few webhook deliveries
TWEETS_PER_DELIVERY = 7
FIRST_ID = 1_900_000_000_000_000_000
START = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def _tweet(n: int) -> dict:
    customer, step = n % CUSTOMERS, n // CUSTOMERS
    return {
        "id": str(FIRST_ID + n),
        "customer": customer,
        "parent": str(FIRST_ID + n - CUSTOMERS) if step else "",
        "text": f"@acme order #{100000 + customer} update {step}?",
        "created_at": START + timedelta(seconds=n),
    }


def _by_webhook(n: int) -> bool:
    return n % 3 != 0  # 1: webhook only, 2: both


def _by_poll(n: int) -> bool:
    return n % 3 != 1  # 0: poll only, 2: both


def _v2(tweet: dict) -> dict:
    data = {
        "id": tweet["id"],
        "text": tweet["text"],
        "author_id": str(10_000 + tweet["customer"]),
        "created_at": tweet["created_at"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "edit_history_tweet_ids": [tweet["id"]],
    }
    if tweet["parent"]:
        data["referenced_tweets"] = [{"type": "replied_to", "id": tweet["parent"]}]
    return data


def _v1(tweet: dict) -> dict:
    customer = tweet["customer"]
    return {
        "created_at": tweet["created_at"].strftime("%a %b %d %H:%M:%S +0000 %Y"),
        "id_str": tweet["id"],
        "text": tweet["text"],
        "in_reply_to_status_id_str": tweet["parent"] or None,
        "user": {
            "id_str": str(10_000 + customer),
            "screen_name": f"customer{customer}",
            "name": f"Customer {customer}",
            "followers_count": customer,
            "verified": False,
        },
    }


@pytest.fixture
def worker(db):
    """A real Celery worker on its own queue, reading the test database."""
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )
    queue = f"parley-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "parley",
            "worker",
            "--pool=solo",
            "--queues",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=REPO,
        env=env,
    )
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    # Celery caches the queue and router on first use; drop them so sends go to `queue`.
    for cached in ("queues", "default_queue", "router"):
        celery_app.amqp.__dict__.pop(cached, None)
    try:
        yield process
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = saved
        for cached in ("queues", "default_queue", "router"):
            celery_app.amqp.__dict__.pop(cached, None)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_thousand_posts_by_webhook_and_poll_are_stored_once_and_threaded(
    client, x_account, default_team, worker, mocked_http
):
    tweets = [_tweet(n) for n in range(TOTAL)]
    released: list[dict] = []

    def mentions(request):
        """X's mentions endpoint over the posts released so far: newest first, since_id."""
        query = parse_qs(urlsplit(request.url).query)
        since = int(query.get("since_id", ["0"])[0])
        page = [t for t in released if int(t["id"]) > since][::-1][:100]
        meta = {"result_count": len(page)}
        if page:
            meta |= {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        users = [
            {
                "id": str(10_000 + c),
                "username": f"customer{c}",
                "name": f"Customer {c}",
                "verified": False,
                "public_metrics": {"followers_count": c},
            }
            for c in sorted({t["customer"] for t in page})
        ]
        body = {"data": [_v2(t) for t in page], "includes": {"users": users}, "meta": meta}
        return 200, {"content-type": "application/json"}, json.dumps(body)

    mocked_http.add_callback(
        "GET", f"https://api.twitter.com/2/users/{X_ACCOUNT_ID}/mentions", callback=mentions
    )

    for start in range(0, TOTAL, ROUND):
        chunk = range(start, start + ROUND)
        webhook = [tweets[n] for n in chunk if _by_webhook(n)]
        for first in range(0, len(webhook), TWEETS_PER_DELIVERY):
            delivery = {
                "for_user_id": X_ACCOUNT_ID,
                "tweet_create_events": [
                    _v1(t) for t in webhook[first : first + TWEETS_PER_DELIVERY]
                ],
            }
            body = json.dumps(delivery).encode()
            assert post_x(client, body, x_signature(body)).status_code == 200
        released.extend(tweets[n] for n in chunk if _by_poll(n))
        poll_account(account_id=x_account.pk)

    # A guard against a hung worker, not a speed target: on an idle 2-core machine the
    # worker has caught up within ~30 s of the last delivery.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pending_deliveries = WebhookDelivery.objects.filter(processed_at__isnull=True).count()
        untriaged = Post.objects.filter(intent="").count()
        stored = Post.objects.count()
        if stored == TOTAL and not pending_deliveries and not untriaged:
            break
        assert worker.poll() is None, "the Celery worker died"
        time.sleep(0.5)

    assert Post.objects.count() == TOTAL
    assert Post.objects.values("external_id").distinct().count() == TOTAL
    assert not WebhookDelivery.objects.exclude(error="").exists()
    assert not Post.objects.filter(intent="").exists(), "every post triaged by the worker"
    # One conversation per customer, holding that customer's ten posts.
    sizes = Conversation.objects.annotate(n=Count("posts")).values_list("customer_id", "n")
    assert len(sizes) == CUSTOMERS
    assert {n for _, n in sizes} == {POSTS_PER_CUSTOMER}
    conversation_of = dict(Post.objects.values_list("external_id", "conversation_id"))
    for tweet in tweets:
        if tweet["parent"]:
            assert conversation_of[tweet["id"]] == conversation_of[tweet["parent"]]
