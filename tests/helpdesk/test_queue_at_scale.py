"""The queue at 100,000 open conversations (issue 21): "waiting since" is stored and kept equal
to its definition whatever writes the posts, the view counts stop at a cap and say so, and the
search finds a word in a post or a customer's name on either search path.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Conversation, Direction, Post
from core.selectors import waiting_since, with_open_turn
from core.turns import rebuild_customer_turns, record_customer_turns_of
from helpdesk import selectors
from tests.factories import ConversationFactory, CustomerFactory, PostFactory

pytestmark = pytest.mark.django_db


def stored_and_defined() -> list[tuple[int, object, object]]:
    """(id, the stored column, the definition computed from the turns) of every conversation."""
    rows = with_open_turn(Conversation.objects.all()).annotate(defined=waiting_since())
    return [(row.pk, row.waiting_since, row.defined) for row in rows.order_by("pk")]


def assert_stored_equals_definition() -> None:
    for pk, stored, defined in stored_and_defined():
        assert stored == defined, f"conversation {pk}: stored {stored}, defined {defined}"


def thread(conversation, *steps: tuple[str, int], agent=None) -> None:
    """Posts on the conversation: ("in" | "out", minutes ago), saved one by one."""
    now = timezone.now()
    for direction, minutes in steps:
        PostFactory(
            conversation=conversation,
            direction=Direction.INBOUND if direction == "in" else Direction.OUTBOUND,
            customer=conversation.customer if direction == "in" else None,
            agent=agent if direction == "out" else None,
            created_at=now - timedelta(minutes=minutes),
        )


def test_stored_waiting_since_follows_every_post_reply_and_column_change(agent):
    never = ConversationFactory()
    thread(never, ("in", 30), ("in", 20))
    again = ConversationFactory(first_response_at=timezone.now() - timedelta(minutes=50))
    thread(again, ("in", 60), ("out", 50), ("in", 9), ("in", 2), agent=agent)
    answered = ConversationFactory(first_response_at=timezone.now() - timedelta(minutes=5))
    thread(answered, ("in", 10), ("out", 5), agent=agent)
    assert_stored_equals_definition()

    again.refresh_from_db()
    assert again.waiting_since == again.open_turn_started_at is not None
    answered.refresh_from_db()
    assert answered.waiting_since is None

    # The brand answers the follow-up; the customer of the answered one writes again.
    thread(again, ("out", 1), agent=agent)
    thread(answered, ("in", 0))
    assert_stored_equals_definition()
    again.refresh_from_db()
    assert again.waiting_since is None

    # Columns written by any code (a queryset update, a save of a stale copy) stay in step.
    stale = Conversation.objects.get(pk=answered.pk)
    thread(stale, ("out", 0), agent=agent)
    stale.needs_reply = False
    stale.save()
    Conversation.objects.filter(pk=never.pk).update(first_response_at=timezone.now())
    assert_stored_equals_definition()
    stale.refresh_from_db()
    assert stale.open_turn_started_at is None and stale.waiting_since is None


def test_bulk_writers_keep_the_stored_turn_in_step(agent):
    conversations = [ConversationFactory(first_response_at=timezone.now()) for _ in range(3)]
    now = timezone.now()
    rows = []
    for number, conversation in enumerate(conversations):
        rows += [
            Post(conversation=conversation, direction=Direction.INBOUND, platform="demo",
                 customer=conversation.customer, text="hi", created_at=now - timedelta(hours=2)),
            Post(conversation=conversation, direction=Direction.OUTBOUND, platform="demo",
                 agent=agent, text="hello", created_at=now - timedelta(hours=1)),
        ]  # fmt: skip
        if number:  # the first one has been answered; the others wrote again
            rows.append(
                Post(conversation=conversation, direction=Direction.INBOUND, platform="demo",
                     customer=conversation.customer, text="again",
                     created_at=now - timedelta(minutes=number))
            )  # fmt: skip
    Post.objects.bulk_create(rows)  # no save(): no signal keeps the turns
    Conversation.objects.update(open_turn_started_at=now)  # and a wrong stored value

    record_customer_turns_of([conversations[0].pk, conversations[1].pk])
    first, second, third = (Conversation.objects.get(pk=c.pk) for c in conversations)
    assert first.waiting_since is None
    assert second.waiting_since == now - timedelta(minutes=1)
    assert third.open_turn_started_at == now  # not rebuilt yet

    rebuild_customer_turns()
    assert_stored_equals_definition()
    assert Conversation.objects.get(pk=third.pk).waiting_since == now - timedelta(minutes=2)


def test_view_counts_are_exact_up_to_the_cap_then_say_more(
    client, agent, default_team, monkeypatch
):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for _ in range(4):
        ConversationFactory(team=default_team)
    ConversationFactory(team=default_team, assignee=agent)

    counts = selectors.inbox_view_counts(agent)
    assert counts["team"] == 4 and counts["mine"] == 1  # 4 = the cap + 1: "more than 3"

    client.force_login(agent)
    page = client.get(reverse("inbox"))
    assert 'data-count="team">3+<' in page.content.decode()
    assert 'data-count="mine">1<' in page.content.decode()
    badges = client.get(reverse("inbox_counts")).json()
    assert badges["team"] == "3+" and badges["mine"] == 1


def test_counts_of_an_agent_in_no_team_are_zero_without_error(client, django_user_model):
    from core.models import AgentProfile

    loner = django_user_model.objects.create_user("loner", password="x")
    AgentProfile.objects.create(user=loner)
    ConversationFactory()

    assert set(selectors.inbox_view_counts(loner, team_ids=[]).values()) == {0}


@pytest.mark.parametrize("rare_posts", [0, 2_000], ids=["common-word path", "rare-word path"])
def test_search_finds_a_word_in_a_post_or_the_customer(
    client, agent, default_team, monkeypatch, rare_posts
):
    # Below the threshold the word counts as rare (filter on the matching posts' ids, on
    # Postgres); at 0 every word is common (checked conversation by conversation).
    monkeypatch.setattr(selectors, "SEARCH_RARE_POSTS", rare_posts)
    in_text = ConversationFactory(team=default_team)
    PostFactory(conversation=in_text, text="my parcel went to Dublin instead")
    by_handle = ConversationFactory(team=default_team, customer=CustomerFactory(handle="dubliner"))
    PostFactory(conversation=by_handle, text="hello")
    other = ConversationFactory(team=default_team)
    PostFactory(conversation=other, text="nothing to see")

    found = selectors.search_conversations(Conversation.objects.all(), " @DUBLIN ")
    assert set(found.values_list("pk", flat=True)) == {in_text.pk, by_handle.pk}
    assert not selectors.search_conversations(Conversation.objects.all(), "zzz").exists()

    client.force_login(agent)
    listed = client.get(reverse("inbox"), {"q": "dublin"}).context["conversations"]
    assert {row.pk for row in listed} == {in_text.pk, by_handle.pk}
