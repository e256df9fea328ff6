"""A worker behind on webhook deliveries takes the queued ones together, under a claim."""

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from core.models import Platform, Post
from ingestion.models import WebhookDelivery
from ingestion.services import process_webhook_delivery
from ingestion.tasks import process_webhook_delivery as process_webhook_delivery_task
from tests.ingestion.conftest import payload

pytestmark = pytest.mark.django_db


def queued_tweets(count: int) -> list[WebhookDelivery]:
    """`count` stored, unprocessed X deliveries of one tweet each, by different customers."""
    deliveries = []
    for number in range(count):
        body = copy.deepcopy(payload("x_account_activity_tweet.json"))
        tweet = body["tweet_create_events"][0]
        tweet["id_str"] = str(1800000000000000100 + number)
        tweet["id"] = int(tweet["id_str"])
        tweet["text"] = f"@acme order #{number} never arrived"
        tweet["user"]["id_str"] = str(3000 + number)
        tweet["user"]["screen_name"] = f"customer_{number}"
        deliveries.append(WebhookDelivery.objects.create(platform=Platform.TWITTER, body=body))
    return deliveries


def pending() -> list[int]:
    return sorted(
        WebhookDelivery.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)
    )


def test_the_deliveries_queued_behind_are_stored_with_the_first(x_account, default_team):
    first, second, third = queued_tweets(3)

    assert process_webhook_delivery(delivery_id=first.pk) == 3

    assert pending() == []
    assert sorted(Post.objects.values_list("text", flat=True)) == [
        "@acme order #0 never arrived",
        "@acme order #1 never arrived",
        "@acme order #2 never arrived",
    ]
    assert all(post.intent for post in Post.objects.all()), "stored triaged, as one batch"
    # Their own tasks come later and find nothing left to do.
    assert process_webhook_delivery(delivery_id=second.pk) == 0
    assert process_webhook_delivery(delivery_id=third.pk) == 0
    assert Post.objects.count() == 3


@override_settings(INGESTION_BATCH_POSTS=2)
def test_a_batch_takes_about_ingestion_batch_posts_and_leaves_the_rest(x_account, default_team):
    first, _, third = queued_tweets(3)

    assert process_webhook_delivery(delivery_id=first.pk) == 2

    assert pending() == [third.pk]
    assert process_webhook_delivery(delivery_id=third.pk) == 1
    assert Post.objects.count() == 3


def test_a_delivery_under_another_workers_live_claim_is_left_to_it(x_account, default_team):
    first, claimed, _ = queued_tweets(3)
    WebhookDelivery.objects.filter(pk=claimed.pk).update(
        claimed_by="another-task", claimed_at=timezone.now()
    )

    assert process_webhook_delivery(delivery_id=first.pk) == 2
    assert process_webhook_delivery(delivery_id=claimed.pk) == 0

    assert pending() == [claimed.pk]
    assert not Post.objects.filter(text="@acme order #1 never arrived").exists()


@override_settings(INGESTION_DELIVERY_CLAIM_SECONDS=120)
def test_a_dead_workers_claim_is_taken_over_once_it_is_old(x_account, default_team):
    (abandoned,) = queued_tweets(1)
    WebhookDelivery.objects.filter(pk=abandoned.pk).update(
        claimed_by="dead-task", claimed_at=timezone.now() - timedelta(seconds=121)
    )

    assert process_webhook_delivery(delivery_id=abandoned.pk) == 1
    assert pending() == []


def test_a_redelivered_task_takes_back_the_deliveries_it_had_claimed(x_account, default_team):
    # The worker died after claiming two deliveries; the second's own task already came and
    # went. The first task, redelivered with the same id, stores both.
    first, second = queued_tweets(2)
    WebhookDelivery.objects.filter(pk__in=[first.pk, second.pk]).update(
        claimed_by="task-1", claimed_at=timezone.now()
    )
    assert process_webhook_delivery(delivery_id=second.pk, claim="task-2") == 0

    assert process_webhook_delivery(delivery_id=first.pk, claim="task-1") == 2

    assert pending() == []
    assert WebhookDelivery.objects.filter(claimed_by="").count() == 2


def test_an_unreadable_delivery_among_them_is_recorded_and_the_rest_stored(x_account, default_team):
    first, broken, _ = queued_tweets(3)
    WebhookDelivery.objects.filter(pk=broken.pk).update(
        body={"for_user_id": "1500000000", "tweet_create_events": [{"id_str": "1"}]}
    )

    assert process_webhook_delivery(delivery_id=first.pk) == 2

    broken.refresh_from_db()
    assert broken.processed_at is not None
    # The event is named by its JSON path; nothing of the delivery is retried.
    assert broken.error == "tweet_create_events[0]: unreadable event skipped (KeyError('user'))"
    assert Post.objects.count() == 2


def test_the_task_claims_under_its_own_id(x_account, default_team):
    first, second = queued_tweets(2)

    assert process_webhook_delivery_task.delay(first.pk).get() == 2
    assert process_webhook_delivery_task.delay(second.pk).get() == 0
    assert pending() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(INGESTION_BATCH_POSTS=4)
def test_workers_claiming_at_once_store_every_delivery_once(x_account, default_team):
    deliveries = queued_tweets(40)
    # Every delivery's task, four workers at once, released together.
    barrier = threading.Barrier(4)

    def work(share: list[WebhookDelivery]) -> int:
        try:
            barrier.wait(timeout=10)
            return sum(process_webhook_delivery(delivery_id=d.pk) for d in share)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        stored = sum(pool.map(work, [deliveries[start::4] for start in range(4)]))

    assert stored == 40
    assert pending() == []
    assert Post.objects.count() == 40
    assert Post.objects.values("external_id").distinct().count() == 40


def test_a_task_whose_delivery_is_taken_stores_the_deliveries_waiting_without_a_message(
    x_account, default_team
):
    # Deliveries committed while a message of the task waited queued none of their own
    # (reliability.services.drain_started): that message's run must take them.
    taken, _ = queued_tweets(2)
    WebhookDelivery.objects.filter(pk=taken.pk).update(
        claimed_by="another-task", claimed_at=timezone.now()
    )

    assert process_webhook_delivery(delivery_id=taken.pk) == 1

    assert pending() == [taken.pk]
    assert Post.objects.get().text == "@acme order #1 never arrived"


@override_settings(INGESTION_BATCH_POSTS=2)
def test_a_full_batch_queues_the_task_again_for_the_deliveries_left(
    x_account, default_team, monkeypatch
):
    first, _, third = queued_tweets(3)
    monkeypatch.setitem(process_webhook_delivery_task.app.conf, "task_always_eager", False)
    queued = []
    monkeypatch.setattr(process_webhook_delivery_task, "delay", lambda *args: queued.append(args))

    assert process_webhook_delivery(delivery_id=first.pk) == 2

    # Another worker takes the rest meanwhile.
    assert queued == [(third.pk,)]
    assert pending() == [third.pk]
