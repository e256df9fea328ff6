"""Spike detection: a burst against a rolling baseline raises one alert, live."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from core.models import Direction, Post, Sentiment
from reports.models import SpikeAlert, SpikeKind
from reports.services import SPIKES_GROUP, detect_spikes
from tests.factories import ConversationFactory, PlatformAccountFactory

NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def posts(account, instants, *, sentiment="", text="hello"):
    conversation = ConversationFactory(account=account)
    Post.objects.bulk_create(
        Post(
            conversation=conversation,
            direction=Direction.INBOUND,
            platform=account.platform,
            external_id=f"{account.pk}-{conversation.pk}-{i}",
            customer=conversation.customer,
            text=text,
            created_at=instant,
            sentiment=sentiment,
        )
        for i, instant in enumerate(instants)
    )


def quiet_day(account, end):
    """One post an hour for the 24 hours before `end`, and the hour before them: a whole
    baseline of history, so the account's usual volume is known."""
    posts(account, [end - timedelta(hours=hours) for hours in range(1, 26)])


def burst(account, start, *, count=200, minutes=5, sentiment=Sentiment.NEGATIVE, text="down"):
    step = timedelta(minutes=minutes) / count
    posts(account, [start + step * i for i in range(count)], sentiment=sentiment, text=text)


@pytest.fixture
def account(db):
    return PlatformAccountFactory(handle="quiet_brand")


def test_a_burst_of_negative_posts_on_a_quiet_account_raises_exactly_one_alert(account):
    quiet_day(account, NOON)
    burst(account, NOON)

    # The beat runs detection every minute, during the burst and after it.
    for minute in range(1, 12):
        detect_spikes(now=NOON + timedelta(minutes=minute))

    alerts = list(SpikeAlert.objects.all())
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.kind == SpikeKind.NEGATIVE
    assert alert.account == account
    assert alert.peak_posts == 200
    assert alert.ended_at is not None  # calm again by the end


def test_usual_volume_raises_nothing(account):
    quiet_day(account, NOON)
    posts(account, [NOON + timedelta(minutes=m) for m in range(5)])

    assert detect_spikes(now=NOON + timedelta(minutes=5)) == []


def test_a_busy_account_needs_a_bigger_burst_than_its_baseline(account, settings):
    settings.SPIKE_BASELINE_HOURS = 1
    # 150 posts every 5 minutes is this account's normal.
    start = NOON - timedelta(hours=1)
    posts(account, [start + timedelta(seconds=2 * i) for i in range(1800)])
    burst(account, NOON, count=200, sentiment=Sentiment.NEUTRAL)

    assert detect_spikes(now=NOON + timedelta(minutes=5)) == []


def test_a_second_burst_after_calm_is_a_new_alert(account):
    quiet_day(account, NOON)
    burst(account, NOON)
    detect_spikes(now=NOON + timedelta(minutes=5))
    detect_spikes(now=NOON + timedelta(minutes=15))  # calm: the episode ends
    burst(account, NOON + timedelta(minutes=30), sentiment=Sentiment.NEUTRAL)

    detect_spikes(now=NOON + timedelta(minutes=35))

    kinds = list(SpikeAlert.objects.order_by("detected_at").values_list("kind", flat=True))
    assert kinds == [SpikeKind.NEGATIVE, SpikeKind.VOLUME]


def test_a_listening_keyword_spike_is_its_own_alert(account):
    account.listening_queries = "outage"
    account.save()
    quiet_day(account, NOON)
    burst(account, NOON, count=40, sentiment=Sentiment.NEUTRAL, text="is there an OUTAGE?")

    detect_spikes(now=NOON + timedelta(minutes=5))

    alerts = {(a.kind, a.keyword) for a in SpikeAlert.objects.all()}
    assert alerts == {(SpikeKind.VOLUME, ""), (SpikeKind.KEYWORD, "outage")}


@pytest.mark.django_db(transaction=True)
def test_a_new_spike_is_pushed_to_the_supervisors_cockpits():
    account = PlatformAccountFactory()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(SPIKES_GROUP, channel)
    quiet_day(account, NOON)
    burst(account, NOON)

    detect_spikes(now=NOON + timedelta(minutes=5))

    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "spike.alert"
    assert message["spike"]["kind"] == SpikeKind.NEGATIVE
    assert message["spike"]["window_posts"] == 200


def test_a_post_going_viral_is_alerted_once(account):
    from django.utils import timezone

    from tests.factories import PostFactory

    now = timezone.now()
    viral = PostFactory(
        conversation=ConversationFactory(account=account),
        created_at=now - timedelta(hours=1),
        raw={"public_metrics": {"retweet_count": 900, "like_count": 2100}},
    )
    PostFactory(
        conversation=ConversationFactory(account=account),
        created_at=now - timedelta(hours=1),
        raw={"public_metrics": {"retweet_count": 3, "like_count": 10}},
    )

    # Engagement per hour is measured against the clock: stop it an hour after posting.
    with time_machine.travel(now, tick=False):
        detect_spikes(now=now + timedelta(seconds=1))
        detect_spikes(now=now + timedelta(seconds=61))

    alert = SpikeAlert.objects.get()
    assert (alert.kind, alert.post, alert.peak_posts) == (SpikeKind.VIRAL, viral, 3000)
