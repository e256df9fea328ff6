"""Automatic replies: only above the threshold, never to sensitive or high-priority posts,
marked as automatic, once per conversation, within the platform's limits."""

import pytest

from core.models import DeliveryStatus, Direction, Post, Priority
from ingestion.pipeline import process_inbound_post
from tests.factories import PostFactory
from triage.models import AutoReply, AutoResponse
from triage.services import auto_response_for, send_auto_reply

THANKS = "Thank you {handle}, we'll pass it on to the team!"


@pytest.fixture
def compliment_rule(db):
    return AutoResponse.objects.create(
        intent="compliment", template=THANKS, confidence_threshold=0.6, is_enabled=True
    )


def triaged(confidence=0.8, priority=Priority.NORMAL, reasons=(), **kwargs):
    return PostFactory(
        intent="compliment",
        sentiment="positive",
        triage_confidence=confidence,
        priority=priority,
        triage_reasons=list(reasons),
        **kwargs,
    )


def test_confident_compliment_gets_an_automatic_reply_marked_as_such(
    compliment_rule, django_capture_on_commit_callbacks
):
    post = triaged(confidence=0.8)

    with django_capture_on_commit_callbacks(execute=True):
        auto_reply = send_auto_reply(post_id=post.pk)

    reply = Post.objects.get(direction=Direction.OUTBOUND)
    assert auto_reply.reply == reply
    assert reply.text == f"Thank you @{post.customer.handle}, we'll pass it on to the team!"
    assert reply.raw["auto_reply"] is True
    assert reply.in_reply_to == post.external_id
    assert reply.delivery_status == DeliveryStatus.SENT  # the demo connector published it


def test_never_fires_below_the_threshold(compliment_rule):
    post = triaged(confidence=0.59)

    assert auto_response_for(post) is None
    assert send_auto_reply(post_id=post.pk) is None
    assert not Post.objects.filter(direction=Direction.OUTBOUND).exists()


def test_never_fires_on_sensitive_posts(compliment_rule):
    post = triaged(
        confidence=0.99,
        priority=Priority.NORMAL,
        reasons=["sensitive: card number in a public post"],
    )

    assert send_auto_reply(post_id=post.pk) is None
    assert not AutoReply.objects.exists()


def test_never_fires_on_high_priority_posts(compliment_rule):
    post = triaged(confidence=0.99, priority=Priority.HIGH, reasons=["influencer (verified)"])

    assert send_auto_reply(post_id=post.pk) is None


def test_disabled_rule_does_not_fire(compliment_rule):
    compliment_rule.is_enabled = False
    compliment_rule.save()

    assert auto_response_for(triaged(confidence=0.99)) is None


def test_only_one_automatic_reply_per_conversation(compliment_rule):
    first = triaged()
    second = triaged(conversation=first.conversation)

    assert send_auto_reply(post_id=first.pk) is not None
    assert send_auto_reply(post_id=second.pk) is None
    assert Post.objects.filter(direction=Direction.OUTBOUND).count() == 1


def test_reply_longer_than_the_platform_allows_is_not_sent(compliment_rule):
    compliment_rule.template = "Thanks! " * 40  # 320 characters, over the 280 of X / demo
    compliment_rule.save()

    assert send_auto_reply(post_id=triaged().pk) is None


def test_hourly_limit_per_account_is_respected(compliment_rule, settings):
    settings.TRIAGE_AUTO_REPLIES_PER_HOUR = 1
    first = triaged()
    second = triaged(conversation__account=first.conversation.account)

    assert send_auto_reply(post_id=first.pk) is not None
    assert send_auto_reply(post_id=second.pk) is None


def test_pipeline_queues_the_auto_reply_after_triage(
    db, default_team, django_capture_on_commit_callbacks
):
    post = PostFactory(text="@brand thanks for sorting my issue so quickly, great service")
    AutoResponse.objects.create(
        intent="compliment", template=THANKS, confidence_threshold=0.3, is_enabled=True
    )

    with django_capture_on_commit_callbacks(execute=True):
        process_inbound_post(post_id=post.pk)

    post.refresh_from_db()
    assert post.intent == "compliment"
    assert AutoReply.objects.get().post == post
