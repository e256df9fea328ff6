"""Priority and the reasons the agent sees, from the tags plus signals about the post."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Priority
from tests.factories import CustomerFactory, PostFactory
from triage.models import WatchedAccount
from triage.priority import PostSignals, describe_reason, prioritise
from triage.services import classify_text, triage_post


def priority_of(text, *, intent="other", sentiment="neutral", **signals):
    return prioritise(text, intent=intent, sentiment=sentiment, signals=PostSignals(**signals))


def test_card_number_in_a_public_post_is_sensitive_and_urgent():
    priority, reasons = priority_of("@brand my card 4111 1111 1111 1111 was charged, help")

    assert priority == Priority.URGENT
    assert "sensitive: card number in a public post" in reasons


def test_order_number_that_fails_the_card_checksum_is_not_called_a_card():
    _, reasons = priority_of("@brand where is order 4111 1111 1111 1112?")

    assert not any("card number" in reason for reason in reasons)


def test_account_number_in_a_public_post_is_sensitive():
    _, reasons = priority_of("@bank my account number 12345678 is locked")

    assert "sensitive: account number in a public post" in reasons


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I will take you to court over this", "sensitive: legal threat"),
        ("the charger caught fire on my desk", "sensitive: safety"),
        ("honestly I want to die after this week", "sensitive: self-harm"),
    ],
)
def test_sensitive_content_is_urgent_with_its_kind(text, reason):
    priority, reasons = priority_of(text)

    assert priority == Priority.URGENT
    assert reason in reasons


def test_100k_follower_negative_post_is_a_viral_risk():
    priority, reasons = priority_of(
        "@brand terrible, never again", sentiment="negative", follower_count=100_000
    )

    assert priority == Priority.HIGH
    assert "viral risk: negative post, author has 100,000 followers" in reasons


def test_positive_post_from_a_big_account_is_no_viral_risk_but_an_influencer():
    _, reasons = priority_of("@brand love it", sentiment="positive", follower_count=250_000)

    assert not any(reason.startswith("viral risk") for reason in reasons)
    assert "influencer (250,000 followers)" in reasons


def test_negative_post_gathering_engagement_fast_is_a_viral_risk():
    _, reasons = priority_of("@brand awful", sentiment="negative", engagements_per_hour=120)

    assert "viral risk: negative post, 120 engagements/hour" in reasons


def test_quiet_spam_is_low_priority():
    priority, reasons = priority_of("WIN a FREE iPhone", intent="spam")

    assert priority == Priority.LOW
    assert reasons == ["no reply needed"]


def test_regulator_handle_tagged_makes_the_post_high_priority(db):
    WatchedAccount.objects.create(handle="@FCA", kind=WatchedAccount.Kind.REGULATOR)
    post = PostFactory(text="@brand you keep ignoring me, @FCA's rules say you must reply")

    triage_post(post)

    assert post.priority >= Priority.HIGH
    assert "tags @fca (Regulator)" in post.triage_reasons


def test_watched_account_on_another_platform_does_not_count(db):
    WatchedAccount.objects.create(
        handle="fca", platform="twitter", kind=WatchedAccount.Kind.REGULATOR
    )
    post = PostFactory(text="@brand thanks for the help, cc @fca")

    triage_post(post)

    assert not any(reason.startswith("tags ") for reason in post.triage_reasons)


def test_engagement_velocity_is_read_from_the_platform_payload(db):
    customer = CustomerFactory(follower_count=50)
    post = PostFactory(
        conversation__customer=customer,
        text="@brand this is the worst, awful, hate it",
        created_at=timezone.now() - timedelta(hours=1),
        raw={"public_metrics": {"retweet_count": 150, "like_count": 300, "reply_count": 20}},
    )

    result = triage_post(post)

    assert result.sentiment == "negative"
    assert any(reason.startswith("viral risk") for reason in post.triage_reasons)


def test_verified_authors_neutral_question_is_normal_with_a_visible_influencer_reason():
    priority, reasons = priority_of(
        "@acme what time does support open on Sundays?",
        intent="question",
        sentiment="neutral",
        is_verified=True,
        follower_count=412_000,
    )

    assert priority == Priority.NORMAL
    assert reasons == ["influencer (verified)"]


def test_verified_author_complaining_is_high():
    priority, reasons = priority_of(
        "@acme order never arrived", intent="complaint", sentiment="neutral", is_verified=True
    )

    assert priority == Priority.HIGH
    assert "influencer (verified) complaining" in reasons


def test_an_ordinary_customers_complaint_is_normal_and_a_defect_is_noted_not_escalated():
    priority, reasons = priority_of(
        "@acme the app keeps crashing, not happy", intent="complaint", sentiment="negative"
    )

    assert priority == Priority.NORMAL
    assert reasons == ["defect"]


def test_legal_threat_in_a_polite_question_is_urgent(db):
    result = classify_text("@acme should I ask my lawyer to contact you about the refund?")

    assert result.priority == Priority.URGENT
    assert "sensitive: legal threat" in result.reasons


def test_every_reason_names_its_rule_and_level():
    assert describe_reason("outage") == {
        "reason": "outage",
        "level": "Urgent",
        "rule": "outage wording: urgent",
    }
    assert describe_reason("influencer (verified)")["level"] == "Normal"
    assert describe_reason("influencer (verified) complaining")["level"] == "High"
