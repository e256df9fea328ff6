"""A delivery's posts are stored together: once each, threaded, in a bounded number of
statements whatever the batch size."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Conversation, ConversationStatus, Customer, CustomerTurn, Direction, Post
from ingestion.connectors import InboundAuthor
from ingestion.models import CustomerLink
from ingestion.services import ingest_item, ingest_items
from tests.factories import InboundItemFactory, PostFactory

pytestmark = pytest.mark.django_db


def author(number: int, **profile) -> InboundAuthor:
    return InboundAuthor(external_id=f"cust-{number}", handle=f"customer{number}", **profile)


def test_a_batch_threads_replies_to_stored_posts_and_to_posts_of_the_same_batch(
    demo_account, default_team
):
    earlier = ingest_item(
        account=demo_account, item=InboundItemFactory(external_id="p-0", author=author(0))
    ).post
    Conversation.objects.filter(pk=earlier.conversation_id).update(status=ConversationStatus.OPEN)
    items = [
        InboundItemFactory(external_id="p-1", author=author(1)),
        # Answers a post stored before this batch.
        InboundItemFactory(external_id="p-2", author=author(2), in_reply_to="p-0"),
        # Answers a post earlier in this batch.
        InboundItemFactory(external_id="p-3", author=author(3), in_reply_to="p-1"),
        # The same customer again: their open conversation.
        InboundItemFactory(external_id="p-4", author=author(1), text="@brand any news?"),
    ]

    results = ingest_items(account=demo_account, items=items)

    assert [result.created for result in results] == [True, True, True, True]
    conversation_of = {r.post.external_id: r.post.conversation_id for r in results}
    assert conversation_of["p-2"] == earlier.conversation_id
    assert conversation_of["p-3"] == conversation_of["p-1"] == conversation_of["p-4"]
    assert Conversation.objects.count() == 2


def test_posts_repeated_within_a_batch_or_already_stored_are_stored_once(
    demo_account, default_team
):
    ingest_item(account=demo_account, item=InboundItemFactory(external_id="p-1"))
    items = [
        InboundItemFactory(external_id="p-1"),
        InboundItemFactory(external_id="p-2"),
        InboundItemFactory(external_id="p-2"),
    ]

    results = ingest_items(account=demo_account, items=items)

    assert [result.created for result in results] == [False, True, False]
    assert results[1].post.pk == results[2].post.pk
    assert Post.objects.filter(external_id="p-2").count() == 1
    assert ingest_items(account=demo_account, items=items)[1].created is False
    assert Post.objects.count() == 2


def test_the_latest_profile_of_each_author_is_kept_and_new_namesakes_are_suggested(
    demo_account, default_team
):
    elsewhere = Customer.objects.create(platform="facebook", external_id="fb-9", handle="Customer1")
    items = [
        InboundItemFactory(author=author(1, follower_count=10)),
        InboundItemFactory(author=author(1, follower_count=12, display_name="Maria")),
    ]

    ingest_items(account=demo_account, items=items)

    customer = Customer.objects.get(external_id="cust-1")
    assert (customer.follower_count, customer.display_name) == (12, "Maria")
    link = CustomerLink.objects.get(customer=customer)
    assert link.other == elsewhere


def test_storing_a_batch_costs_the_same_statements_whatever_its_size(demo_account, settings):
    # Storing and processing; what runs after commit (the broadcast) is not counted.
    settings.CELERY_TASK_ALWAYS_EAGER = False

    def statements_for(count: int, start: int) -> int:
        items = [
            InboundItemFactory(external_id=f"s-{start + n}", author=author(start + n))
            for n in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            ingest_items(account=demo_account, items=items)
        assert Post.objects.filter(external_id__startswith="s-").count() >= count
        return len(queries.captured_queries)

    statements_for(1, start=0)  # reads what is cached afterwards (the active models)
    # 20, not more: SQLite caps a statement's parameters, so Django splits bigger inserts.
    assert statements_for(20, start=100) == statements_for(3, start=200)


def test_a_follow_up_after_the_brand_answered_opens_a_customer_turn(
    demo_account, default_team, django_capture_on_commit_callbacks
):
    first = ingest_item(account=demo_account, item=InboundItemFactory(author=author(1))).post
    PostFactory(
        conversation=first.conversation,
        direction=Direction.OUTBOUND,
        customer=None,
        created_at=first.created_at + timedelta(minutes=5),
    )
    follow_up = InboundItemFactory(
        author=author(1), created_at=first.created_at + timedelta(minutes=9)
    )

    # Storing queues the batch's processing (eager here), which records the turn.
    with django_capture_on_commit_callbacks(execute=True):
        post = ingest_items(account=demo_account, items=[follow_up])[0].post

    assert post.conversation_id == first.conversation_id
    turn = CustomerTurn.objects.get()
    assert (turn.post_id, turn.started_at, turn.answered_at) == (post.pk, post.created_at, None)
