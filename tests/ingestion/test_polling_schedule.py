"""Which accounts the beat tick polls: each on its own interval, failing ones left out."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import DeliveryStatus, Direction
from ingestion.models import PlatformAccount, ReplyAttempt, WebhookDelivery
from ingestion.services import accounts_due_for_polling, backoff_seconds, stranded_work
from ingestion.tasks import poll_all_accounts
from tests.factories import PlatformAccountFactory, PostFactory

pytestmark = pytest.mark.django_db


def test_new_accounts_are_due_and_claiming_pushes_them_one_interval_out():
    fast = PlatformAccountFactory(poll_interval_seconds=30)
    slow = PlatformAccountFactory(poll_interval_seconds=600)
    now = timezone.now()

    first = accounts_due_for_polling(now=now)
    again = accounts_due_for_polling(now=now + timedelta(seconds=31))

    assert sorted(first) == sorted([fast.pk, slow.pk])
    assert again == [fast.pk]
    slow.refresh_from_db()
    assert slow.next_poll_at == now + timedelta(seconds=600)


def test_unhealthy_inactive_and_backing_off_accounts_are_not_polled():
    healthy = PlatformAccountFactory()
    PlatformAccountFactory(is_healthy=False, last_poll_error="X refused the credentials")
    PlatformAccountFactory(is_active=False)
    PlatformAccountFactory(next_poll_at=timezone.now() + timedelta(minutes=5))

    assert accounts_due_for_polling() == [healthy.pk]


def test_a_failing_account_does_not_stop_the_others_being_polled(default_team):
    broken = PlatformAccountFactory(platform="twitter", external_id="")  # no id: refused
    demo = PlatformAccountFactory()
    poll_all_accounts.apply()

    broken.refresh_from_db()
    assert broken.is_healthy is False
    assert "has no platform account id" in broken.last_poll_error
    assert PlatformAccount.objects.get(pk=demo.pk).last_polled_at is not None
    assert demo.conversations.exists()


def test_backoff_grows_with_failures_and_stays_capped():
    assert 60 <= backoff_seconds(1, base=60) <= 120
    assert 60 <= backoff_seconds(5, base=60) <= 60 * 32
    assert all(backoff_seconds(30, base=60) <= 3600 for _ in range(50))


def test_deliveries_and_replies_whose_task_was_lost_are_found_again(x_account):
    old = timezone.now() - timedelta(minutes=5)
    lost_delivery = WebhookDelivery.objects.create(platform="twitter", body={})
    WebhookDelivery.objects.filter(pk=lost_delivery.pk).update(received_at=old)
    WebhookDelivery.objects.create(platform="twitter", body={})  # just arrived
    outbound = {
        "direction": Direction.OUTBOUND,
        "external_id": None,
        "delivery_status": DeliveryStatus.PENDING,
        "conversation__account": x_account,
    }
    lost_reply = PostFactory(created_at=old, **outbound)
    retrying = PostFactory(created_at=old, **outbound)
    ReplyAttempt.objects.create(post=retrying, attempts=1)
    PostFactory(**outbound)  # just sent

    deliveries, replies = stranded_work()

    assert deliveries == [lost_delivery.pk]
    assert replies == [lost_reply.pk]
