"""The customer turns the next-response KPI reads are kept as posts are written: whatever
order posts arrive in, they agree with the definition computed from the thread itself, and
the bulk rebuild (for COPY and bulk_create loaders) agrees with both."""

import random
from datetime import timedelta

from django.db import connection
from django.db.models import Exists, OuterRef, Subquery
from django.test.utils import CaptureQueriesContext

from core.models import CustomerTurn, Direction, Post
from core.turns import customer_turns, rebuild_customer_turns
from tests.factories import ConversationFactory
from tests.reports.dataset import at, inbound, outbound


def turns_from_thread() -> dict[int, tuple]:
    """The original definition, one correlated search per inbound post (the old selector)."""
    replies = Post.objects.filter(
        conversation=OuterRef("conversation"), direction=Direction.OUTBOUND
    )
    last_reply_before = (
        replies.filter(created_at__lt=OuterRef("created_at"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    next_reply = (
        replies.filter(created_at__gte=OuterRef("created_at"))
        .order_by("created_at")
        .values("created_at")[:1]
    )
    earlier_in_same_turn = Post.objects.filter(
        conversation=OuterRef("conversation"),
        direction=Direction.INBOUND,
        created_at__gt=OuterRef("last_reply_before"),
        created_at__lt=OuterRef("created_at"),
    )
    rows = (
        Post.objects.filter(direction=Direction.INBOUND)
        .annotate(last_reply_before=Subquery(last_reply_before))
        .filter(last_reply_before__isnull=False)
        .annotate(earlier=Exists(earlier_in_same_turn))
        .filter(earlier=False)
        .annotate(next_reply_at=Subquery(next_reply))
        .values_list("pk", "created_at", "next_reply_at")
    )
    return {pk: (started, answered) for pk, started, answered in rows}


def stored_turns() -> dict[int, tuple]:
    return {
        turn.post_id: (turn.started_at, turn.answered_at) for turn in CustomerTurn.objects.all()
    }


def test_a_reply_opens_the_next_turn_and_answers_it(db):
    conversation = ConversationFactory()
    inbound(conversation, at(0, 9))
    outbound(conversation, at(0, 9, 5))
    later = inbound(conversation, at(0, 9, 10))
    inbound(conversation, at(0, 9, 12))  # same turn

    assert stored_turns() == {later.pk: (at(0, 9, 10), None)}

    outbound(conversation, at(0, 9, 15))

    assert stored_turns() == {later.pk: (at(0, 9, 10), at(0, 9, 15))}


def test_a_late_arriving_post_splits_and_merges_turns(db):
    conversation = ConversationFactory()
    inbound(conversation, at(0, 9))
    outbound(conversation, at(0, 9, 5))
    second = inbound(conversation, at(0, 9, 20))
    # Delivered late, but posted before: it now opens the turn, and `second` joins it.
    first = inbound(conversation, at(0, 9, 10))

    assert stored_turns() == {first.pk: (at(0, 9, 10), None)}

    # A reply stored late, between the two, answers the first and opens a turn for the second.
    outbound(conversation, at(0, 9, 15))

    assert stored_turns() == {
        first.pk: (at(0, 9, 10), at(0, 9, 15)),
        second.pk: (at(0, 9, 20), None),
    }


def test_deleting_a_reply_reopens_what_it_answered(db):
    conversation = ConversationFactory()
    inbound(conversation, at(0, 9))
    outbound(conversation, at(0, 9, 5))
    turn = inbound(conversation, at(0, 9, 10))
    reply = outbound(conversation, at(0, 9, 15))

    reply.delete()

    assert stored_turns() == {turn.pk: (at(0, 9, 10), None)}


def test_saving_triage_or_delivery_fields_does_not_recompute(db):
    conversation = ConversationFactory()
    post = inbound(conversation, at(0, 9))
    post.sentiment = "negative"

    with CaptureQueriesContext(connection) as queries:
        post.save(update_fields=["sentiment"])

    # The post's own UPDATE (and the audit log's read of the post), no customer turn.
    turns = CustomerTurn._meta.db_table
    assert not [query["sql"] for query in queries if turns in query["sql"]]
    assert [query["sql"] for query in queries if query["sql"].startswith("UPDATE")] == [
        f'UPDATE "{Post._meta.db_table}" SET "sentiment" = \'negative\' WHERE '
        f'"{Post._meta.db_table}"."id" = {post.pk}'
    ]


def test_turns_kept_on_write_match_the_thread_and_the_bulk_rebuild(db):
    rng = random.Random(5)
    for _ in range(12):
        conversation = ConversationFactory()
        start = at(0, 9)
        moments = [start + timedelta(minutes=rng.randint(0, 40)) for _ in range(rng.randint(1, 9))]
        # Shuffled: posts are stored in any order; equal instants on purpose.
        rng.shuffle(moments)
        for moment in moments:
            if rng.random() < 0.4:
                outbound(conversation, moment)
            else:
                inbound(conversation, moment)

    expected = turns_from_thread()
    assert expected  # the random threads do have turns
    assert stored_turns() == expected

    rebuild_customer_turns()

    assert stored_turns() == expected


def test_posts_at_the_same_instant_are_not_before_one_another():
    t = at(0, 9)
    posts = [(1, "inbound", t), (2, "outbound", t), (3, "inbound", t + timedelta(minutes=1))]

    # Post 1 has no reply strictly before it; the reply at its instant answers it, though not
    # as a turn. Post 3 follows the reply: a turn, unanswered.
    assert customer_turns(posts) == {3: (t + timedelta(minutes=1), None)}
