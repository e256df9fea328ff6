"""Ingestion under concurrency, on a real PostgreSQL: two workers delivering at the same moment
still store each post once, in one conversation, for one customer.

Each test runs a few rounds so the two threads overlap inside `ingest_item` in at least some of
them; a barrier releases both at once and each thread uses its own database connection.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections, transaction

from core.models import Conversation, Customer, Post
from ingestion.connectors import InboundAuthor
from ingestion.locks import lock_authors
from ingestion.services import IngestResult, ingest_item, ingest_items
from tests.factories import CustomerFactory, InboundItemFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def ingest_at_once(account, items) -> list[IngestResult]:
    """Ingest each item in its own thread, all released together."""
    barrier = threading.Barrier(len(items))

    def ingest(item) -> IngestResult:
        try:
            barrier.wait(timeout=10)
            return ingest_item(account=account, item=item)
        finally:
            # Threads get their own connections; close them so the test database can be
            # flushed and dropped.
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(ingest, items))


def test_same_post_delivered_twice_at_once_is_stored_once(demo_account, default_team):
    for round_number in range(ROUNDS):
        author = InboundAuthor(external_id=f"race-{round_number}", handle=f"racer{round_number}")
        item = InboundItemFactory(external_id=f"tw-race-{round_number}", author=author)

        results = ingest_at_once(demo_account, [item, item])

        assert sorted(result.created for result in results) == [False, True]
        assert results[0].post.pk == results[1].post.pk
        assert Post.objects.filter(external_id=item.external_id).count() == 1
        assert Customer.objects.filter(external_id=author.external_id).count() == 1
        assert Conversation.objects.filter(customer__external_id=author.external_id).count() == 1


def test_two_posts_of_a_new_customer_at_once_make_one_customer_and_conversation(
    demo_account, default_team
):
    for round_number in range(ROUNDS):
        author = InboundAuthor(external_id=f"newcomer-{round_number}", handle="newcomer")
        first = InboundItemFactory(author=author, text="@brand my parcel never arrived")
        second = InboundItemFactory(author=author, text="@brand hello?? anyone there")

        results = ingest_at_once(demo_account, [first, second])

        assert [result.created for result in results] == [True, True]
        assert Customer.objects.filter(external_id=author.external_id).count() == 1
        conversations = Conversation.objects.filter(customer__external_id=author.external_id)
        assert conversations.count() == 1
        assert conversations.get().posts.count() == 2


def test_two_posts_of_a_returning_customer_at_once_open_one_conversation(
    demo_account, default_team
):
    for round_number in range(ROUNDS):
        customer = CustomerFactory(external_id=f"regular-{round_number}")
        author = InboundAuthor(external_id=customer.external_id, handle=customer.handle)
        first = InboundItemFactory(author=author, text="@brand charged twice this month")
        second = InboundItemFactory(author=author, text="@brand please refund one of them")

        ingest_at_once(demo_account, [first, second])

        assert customer.conversations.count() == 1
        assert customer.conversations.get().posts.count() == 2


def test_a_batch_stores_the_authors_nobody_holds_and_waits_for_the_others(
    demo_account, default_team
):
    """Another batch holds one author: the batch commits its other authors' posts at once,
    and that author's (with a reply to it by someone else) only once the holder is done."""
    held = InboundAuthor(external_id="held-author", handle="held")
    free = InboundAuthor(external_id="free-author", handle="free")
    held_post = InboundItemFactory(author=held, text="@brand my order is late")
    free_post = InboundItemFactory(author=free, text="@brand where is my refund?")
    replier = InboundAuthor(external_id="replier", handle="replier")
    reply = InboundItemFactory(
        author=replier, text="@held same here", in_reply_to=held_post.external_id
    )
    locked, release = threading.Event(), threading.Event()

    def hold_author() -> None:
        try:
            with transaction.atomic():
                lock_authors(
                    platform=demo_account.platform, external_ids=["held-author"], wait=True
                )
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def ingest() -> list[IngestResult]:
        try:
            return ingest_items(account=demo_account, items=[held_post, free_post, reply])
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        holder = pool.submit(hold_author)
        assert locked.wait(timeout=10)
        ingesting = pool.submit(ingest)
        # Waits for the free author's commit, however slow the machine (no timing asserted).
        for _ in range(300):
            if Post.objects.filter(external_id=free_post.external_id).exists():
                break
            threading.Event().wait(0.1)
        stored_while_held = set(Post.objects.values_list("external_id", flat=True))
        release.set()
        holder.result(timeout=30)
        results = ingesting.result(timeout=30)

    # The held author's post, and the reply to it (stored with it, never before it), waited.
    assert stored_while_held == {free_post.external_id}
    assert [result.created for result in results] == [True, True, True]
    held_conversation = Conversation.objects.get(customer__external_id="held-author")
    assert Post.objects.get(external_id=reply.external_id).conversation == held_conversation
    assert Conversation.objects.filter(customer__external_id="free-author").count() == 1
    assert Post.objects.exclude(intent="").count() == 3
