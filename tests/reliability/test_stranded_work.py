"""The sweep that queues again work whose task was lost: posts never triaged, replies
abandoned mid-retry, webhook deliveries never processed."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from core.models import DeliveryStatus, Direction, Post
from ingestion import sweeps
from ingestion.models import ReplyAttempt, WebhookDelivery
from ingestion.sweeps import requeue_stranded_work
from reliability.models import DeadLetter
from tests.factories import ConversationFactory, PostFactory, pending_reply
from tests.ingestion.conftest import payload

pytestmark = pytest.mark.django_db

LATER = timedelta(minutes=30)


@pytest.fixture(autouse=True)
def fresh_requeue_marks():
    from django.core.cache import cache

    cache.clear()


def _untriaged_post(account) -> Post:
    # Stored, but its triage task never ran (the broker was down at commit).
    return PostFactory(conversation=ConversationFactory(account=account), intent="")


def test_a_post_whose_triage_task_was_lost_is_triaged_by_the_sweep(demo_account, default_team):
    post = _untriaged_post(demo_account)

    counts = requeue_stranded_work(now=timezone.now() + LATER)

    post.refresh_from_db()
    assert counts["posts"] == 1
    assert post.intent != ""
    assert post.conversation.team_id is None or post.conversation.team == default_team


def test_a_fresh_untriaged_post_is_left_to_its_own_task(demo_account, default_team):
    post = _untriaged_post(demo_account)

    counts = requeue_stranded_work(now=timezone.now())

    post.refresh_from_db()
    assert counts["posts"] == 0
    assert post.intent == ""


def test_a_dead_lettered_post_is_not_requeued_until_replayed(demo_account, default_team):
    post = _untriaged_post(demo_account)
    DeadLetter.objects.create(
        task_name="ingestion.tasks.process_inbound_post", args=[post.pk], error="boom"
    )

    counts = requeue_stranded_work(now=timezone.now() + LATER)

    assert counts["posts"] == 0


@override_settings(RELIABILITY_REQUEUE_EVERY_SECONDS=300)
def test_a_stranded_post_is_requeued_once_per_window(demo_account, default_team, monkeypatch):
    from ingestion.tasks import process_inbound_post

    queued = []
    monkeypatch.setattr(process_inbound_post, "delay", lambda post_id: queued.append(post_id))
    post = _untriaged_post(demo_account)

    requeue_stranded_work(now=timezone.now() + LATER)
    requeue_stranded_work(now=timezone.now() + LATER)

    assert queued == [post.pk]


def test_a_reply_whose_retry_was_lost_is_sent_by_the_sweep(demo_account):
    asked = PostFactory(conversation=ConversationFactory(account=demo_account), external_id="q-1")
    reply = pending_reply(asked, "Sorry, checking now.")
    # Attempted once, failed transiently; the retry message died with a Redis restart.
    ReplyAttempt.objects.create(
        post=reply, attempts=1, last_attempt_at=timezone.now() - timedelta(hours=1)
    )

    counts = requeue_stranded_work()

    reply.refresh_from_db()
    assert counts["replies"] == 1
    assert reply.delivery_status == DeliveryStatus.SENT
    assert reply.external_id.startswith("demo-reply-")


def test_a_reply_claimed_by_a_live_worker_is_left_alone(demo_account, agent):
    conversation = ConversationFactory(account=demo_account)
    reply = PostFactory(
        conversation=conversation,
        direction=Direction.OUTBOUND,
        external_id=None,
        agent=agent,
        delivery_status=DeliveryStatus.PENDING,
    )
    ReplyAttempt.objects.create(
        post=reply, attempts=1, claimed_at=timezone.now(), last_attempt_at=timezone.now()
    )

    counts = requeue_stranded_work()

    reply.refresh_from_db()
    assert counts["replies"] == 0
    assert reply.delivery_status == DeliveryStatus.PENDING


def test_an_unprocessed_webhook_delivery_is_processed_by_the_sweep(x_account, default_team):
    delivery = WebhookDelivery.objects.create(
        platform="twitter", body=payload("x_account_activity_tweet.json")
    )

    counts = requeue_stranded_work(now=timezone.now() + LATER)

    delivery.refresh_from_db()
    assert counts["deliveries"] == 1
    assert delivery.processed_at is not None
    assert Post.objects.filter(direction=Direction.INBOUND).exists()


def test_nothing_is_requeued_while_workers_are_behind(demo_account, default_team, monkeypatch):
    monkeypatch.setattr(sweeps, "queue_backlog", lambda: 5000)
    post = _untriaged_post(demo_account)

    counts = requeue_stranded_work(now=timezone.now() + LATER)

    post.refresh_from_db()
    assert counts["posts"] == 0
    assert post.intent == ""
