"""Triage in batches: one prediction per model for a webhook delivery's posts, the same tags
as one post at a time, and queries that do not grow with the batch."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Post, Priority
from tests.factories import CustomerFactory, PostFactory
from triage.models import AutoReply, AutoResponse, WatchedAccount
from triage.services import classify_text, classify_texts, triage_post, triage_posts

COMPLIMENT = "@brand thanks for sorting my issue so quickly, great service"
MIXED_TEXTS = [
    COMPLIMENT,
    "@brand my order is three weeks late and nobody answers, worst service ever",
    "@brand where is my parcel? tracking has not moved since Monday",
    "WIN a FREE iPhone now!!! click www.example.com/win",
    "@brand your app is down again, can't log in #outage",
    "@brand my card 4111 1111 1111 1111 was charged twice, help",
    "@brand you keep ignoring me, @FCA's rules say you must reply",
    "@brand I will take you to court over this",
    "@brand can you change the delivery address on my order please",
    "@brand love the new update 😍",
]


@pytest.fixture
def fca(db):
    return WatchedAccount.objects.create(handle="fca", kind=WatchedAccount.Kind.REGULATOR)


def mixed_posts():
    """Posts with the signals priority reads: followers, verification, fast engagement."""
    an_hour_ago = timezone.now() - timedelta(hours=1)
    posts = []
    for index, text in enumerate(MIXED_TEXTS):
        customer = CustomerFactory(
            follower_count=(0, 150_000, 20_000)[index % 3], is_verified=index == 4
        )
        posts.append(
            PostFactory(
                conversation__customer=customer,
                text=text,
                created_at=an_hour_ago,
                raw={"public_metrics": {"retweet_count": 60 * index, "like_count": 7}},
            )
        )
    return posts


def fetched(posts):
    """The posts as a caller that did not select_related("customer") holds them."""
    by_pk = Post.objects.in_bulk([post.pk for post in posts])
    return [by_pk[post.pk] for post in posts]


def tags(post):
    return (
        post.intent,
        post.sentiment,
        post.priority,
        post.triage_confidence,
        list(post.triage_reasons),
    )


def test_batch_gives_the_same_tags_as_one_post_at_a_time(fca):
    posts = mixed_posts()
    one_at_a_time = fetched(posts)
    batch = fetched(posts)

    singles = [triage_post(post) for post in one_at_a_time]
    batched = triage_posts(batch)

    assert batched == singles
    assert [tags(post) for post in batch] == [tags(post) for post in one_at_a_time]
    # The mix really is mixed: more than one intent and priority level.
    assert len({result.intent for result in batched}) > 2
    assert len({result.priority for result in batched}) > 1


def test_classify_texts_matches_classify_text_for_each_text(db):
    batched = classify_texts(MIXED_TEXTS)

    assert batched == [classify_text(text) for text in MIXED_TEXTS]


def test_empty_batch_classifies_nothing_and_asks_nothing(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert triage_posts([]) == []
        assert classify_texts([]) == []


def test_queries_for_a_batch_of_30_equal_those_for_a_batch_of_3(fca):
    AutoResponse.objects.create(
        intent="compliment", template="Thanks {handle}!", confidence_threshold=0.0, is_enabled=True
    )
    AutoResponse.objects.create(
        intent="question",
        template="We're on it {handle}",
        confidence_threshold=0.0,
        is_enabled=True,
    )
    # Every other post tags the regulator (high priority); the rest may be auto-answered.
    posts = [
        PostFactory(
            text=MIXED_TEXTS[index % len(MIXED_TEXTS)] + " cc @someone" + index % 2 * " @fca"
        )
        for index in range(30)
    ]
    triage_posts(fetched(posts[:1]))  # loads the models and caches the active versions

    small_batch = fetched(posts[:3])
    large_batch = fetched(posts)
    with CaptureQueriesContext(connection) as small:
        triage_posts(small_batch)
    with CaptureQueriesContext(connection) as large:
        triage_posts(large_batch)

    # Authors, watched accounts and auto-response rules: one query each, whatever the size.
    assert len(large.captured_queries) == len(small.captured_queries) == 3


def test_auto_reply_is_queued_for_qualifying_posts_only(db, django_capture_on_commit_callbacks):
    AutoResponse.objects.create(
        intent="compliment",
        template="Thank you {handle}!",
        confidence_threshold=0.3,
        is_enabled=True,
    )
    qualifying = PostFactory(text=COMPLIMENT)
    influencer = PostFactory(
        text=COMPLIMENT, conversation__customer=CustomerFactory(is_verified=True)
    )
    sensitive = PostFactory(text=COMPLIMENT + " my card is 4111 1111 1111 1111")
    complaint = PostFactory(text=MIXED_TEXTS[1])
    posts = [qualifying, influencer, sensitive, complaint]

    with django_capture_on_commit_callbacks() as queued:
        triage_posts(posts)
        for post in posts:
            post.save()

    assert qualifying.intent == "compliment"
    # A verified author's compliment is no escalation, but a person answers it.
    assert influencer.priority == Priority.NORMAL
    assert "influencer (verified)" in influencer.triage_reasons
    assert sensitive.priority == Priority.URGENT
    # Only the plain compliment is queued; the others never reach send_auto_reply.
    assert len(queued) == 1
    queued[0]()
    assert [auto_reply.post for auto_reply in AutoReply.objects.all()] == [qualifying]


def test_watched_account_reasons_appear_for_the_posts_that_tag_them(fca):
    WatchedAccount.objects.create(
        handle="bbcnews", platform="twitter", kind=WatchedAccount.Kind.PRESS
    )
    tags_regulator = PostFactory(text="@brand you keep ignoring me, cc @FCA")
    tags_press_elsewhere = PostFactory(text="@brand still waiting, cc @bbcnews")
    tags_no_one = PostFactory(text="@brand still waiting for my refund")

    triage_posts([tags_regulator, tags_press_elsewhere, tags_no_one])

    assert "tags @fca (Regulator)" in tags_regulator.triage_reasons
    assert tags_regulator.priority >= Priority.HIGH
    # The press account is watched on X only; these posts came from the demo platform.
    assert not any(r.startswith("tags ") for r in tags_press_elsewhere.triage_reasons)
    assert not any(r.startswith("tags ") for r in tags_no_one.triage_reasons)
