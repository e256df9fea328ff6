from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Conversation, ConversationStatus, Customer, Post, Priority
from ingestion.connectors import InboundAuthor
from ingestion.services import ingest_item, ingest_items
from tests.factories import InboundItemFactory
from triage.models import WatchedAccount

pytestmark = pytest.mark.django_db


def test_duplicate_delivery_stores_one_post(demo_account, default_team):
    item = InboundItemFactory(external_id="tw-1")

    first = ingest_item(account=demo_account, item=item)
    second = ingest_item(account=demo_account, item=item)

    assert first.created is True
    assert second.created is False
    assert second.post.pk == first.post.pk
    assert Post.objects.filter(external_id="tw-1").count() == 1


def test_ingested_post_is_triaged_routed_and_on_the_clock(
    demo_account, default_team, django_capture_on_commit_callbacks
):
    item = InboundItemFactory(text="@brand your app is down again, can't log in #outage")

    with django_capture_on_commit_callbacks(execute=True):
        post = ingest_item(account=demo_account, item=item).post

    post.refresh_from_db()
    conversation = post.conversation
    conversation.refresh_from_db()
    assert post.intent == "complaint"
    assert "outage" in post.triage_reasons
    assert conversation.team == default_team
    assert conversation.first_response_due_at == conversation.created_at + timedelta(minutes=15)


def test_reply_threads_into_the_conversation_of_the_post_it_answers(demo_account, default_team):
    maria = InboundAuthor(external_id="cust-1", handle="maria")
    first = ingest_item(account=demo_account, item=InboundItemFactory(author=maria)).post
    Conversation.objects.filter(pk=first.conversation_id).update(status=ConversationStatus.OPEN)
    tom = InboundAuthor(external_id="cust-2", handle="tom")

    reply = ingest_item(
        account=demo_account,
        item=InboundItemFactory(author=tom, in_reply_to=first.external_id, text="@brand same here"),
    ).post

    assert reply.conversation_id == first.conversation_id


def test_new_post_from_same_customer_joins_their_open_conversation(demo_account, default_team):
    one = ingest_item(account=demo_account, item=InboundItemFactory()).post
    two = ingest_item(account=demo_account, item=InboundItemFactory(text="any update?")).post

    assert two.conversation_id == one.conversation_id


def test_post_after_resolution_opens_a_new_conversation(demo_account, default_team):
    one = ingest_item(account=demo_account, item=InboundItemFactory()).post
    Conversation.objects.filter(pk=one.conversation_id).update(status=ConversationStatus.RESOLVED)

    two = ingest_item(account=demo_account, item=InboundItemFactory(in_reply_to=one.external_id))

    assert two.post.conversation_id != one.conversation_id


def test_author_profile_is_stored_and_refreshed(demo_account, default_team):
    author = InboundAuthor("cust-9", "gadgetguru", "Gadget Guru", 400_000, is_verified=True)
    ingest_item(account=demo_account, item=InboundItemFactory(author=author))
    grown = InboundAuthor("cust-9", "gadgetguru", "Gadget Guru", 410_000, is_verified=True)
    ingest_item(account=demo_account, item=InboundItemFactory(author=grown))

    customer = Customer.objects.get(external_id="cust-9")
    assert customer.follower_count == 410_000
    assert customer.is_verified is True
    assert customer.posts.count() == 2


def test_triage_reads_the_author_the_payload_and_the_tagged_accounts_of_arriving_posts(
    demo_account, default_team
):
    WatchedAccount.objects.create(handle="fca", kind=WatchedAccount.Kind.REGULATOR)
    verified = InboundAuthor("cust-v", "famous", "Famous", 1_200, is_verified=True)
    items = [
        InboundItemFactory(text="what time does support open on sundays?", author=verified),
        InboundItemFactory(text="@brand still no refund, I am furious", author=verified),
        InboundItemFactory(text="@brand @FCA you took my money twice"),
        InboundItemFactory(
            text="@brand terrible service, my order is lost and nobody answers",
            raw={"public_metrics": {"retweet_count": 900, "like_count": 2_000}},
        ),
    ]

    posts = [result.post for result in ingest_items(account=demo_account, items=items)]

    question, complaint, tagging, spreading = [Post.objects.get(pk=post.pk) for post in posts]
    assert (question.priority, question.triage_reasons) == (
        Priority.NORMAL,
        ["influencer (verified)"],
    )
    assert complaint.priority == Priority.HIGH
    assert "influencer (verified) complaining" in complaint.triage_reasons
    assert tagging.priority == Priority.HIGH
    assert "tags @fca (Regulator)" in tagging.triage_reasons
    assert spreading.priority == Priority.HIGH
    assert any(reason.startswith("viral risk") for reason in spreading.triage_reasons)


def test_post_soon_after_resolution_reopens_the_conversation(demo_account, default_team):
    one = ingest_item(account=demo_account, item=InboundItemFactory()).post
    Conversation.objects.filter(pk=one.conversation_id).update(
        status=ConversationStatus.RESOLVED, resolved_at=timezone.now() - timedelta(hours=1)
    )

    two = ingest_item(account=demo_account, item=InboundItemFactory(text="it broke again")).post

    assert two.conversation_id == one.conversation_id
    two.conversation.refresh_from_db()
    assert two.conversation.status == ConversationStatus.OPEN
    assert two.conversation.resolved_at is None


def test_post_long_after_resolution_starts_a_new_conversation(demo_account, default_team):
    one = ingest_item(account=demo_account, item=InboundItemFactory()).post
    Conversation.objects.filter(pk=one.conversation_id).update(
        status=ConversationStatus.RESOLVED, resolved_at=timezone.now() - timedelta(days=2)
    )

    two = ingest_item(account=demo_account, item=InboundItemFactory(text="new question")).post

    assert two.conversation_id != one.conversation_id
