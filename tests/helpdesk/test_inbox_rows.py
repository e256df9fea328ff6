"""/inbox/rows/: the rows the live inbox asks for when a push says conversations changed.

The server alone decides which rows a list holds and where: the same filter, search and
card template as the page, and a sort key per row that reproduces the page's order.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Conversation, Priority
from helpdesk.selectors import INBOX_SORTS
from tests.factories import (
    AGENT_PASSWORD,
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    PostFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

HOSTILE_TEXT = '<img src=x onerror="alert(1)">Refund me <b>now</b>'


@pytest.fixture
def signed_in(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    return client


def conversation(team, *texts: str, handle: str = "maria", ago_minutes: int = 10, **fields):
    """A conversation of `team` whose customer wrote `texts`, oldest first."""
    started = timezone.now() - timedelta(minutes=ago_minutes)
    made = ConversationFactory(team=team, customer=CustomerFactory(handle=handle), **fields)
    for offset, text in enumerate(texts):
        PostFactory(conversation=made, text=text, created_at=started + timedelta(seconds=offset))
    # Waiting since the first post (no answer yet); "newest" sorts on the last one.
    Conversation.objects.filter(pk=made.pk).update(created_at=started, last_inbound_at=started)
    return made


def rows(client, ids, **query) -> str:
    response = client.get(reverse("inbox_rows"), {"ids": ",".join(map(str, ids)), **query})
    assert response.status_code == 200, response.content
    return response.content.decode()


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-conversation-id="(\d+)"', html)]


def test_a_search_match_in_an_earlier_post_keeps_the_row(signed_in, default_team):
    # The search matches any post of the conversation, not just the excerpt the row shows:
    # the browser's own copy of the filter got this wrong and dropped the row.
    parcel = conversation(default_team, "my parcel never came", "hello? anyone?", handle="ana")
    other = conversation(default_team, "love the new app", handle="bo")

    html = rows(signed_in, [parcel.pk, other.pk], view="all", q="parcel")

    assert row_ids(html) == [parcel.pk]
    assert "hello? anyone?" in html  # the excerpt the row shows


def test_a_row_that_left_the_view_is_not_sent(signed_in, default_team, agent):
    mine = conversation(default_team, "where is my order?", assignee=agent)
    theirs = conversation(default_team, "where is my refund?", handle="bo")

    assert row_ids(rows(signed_in, [mine.pk, theirs.pk], view="mine")) == [mine.pk]


def test_another_teams_conversation_is_never_sent(signed_in, default_team):
    elsewhere = conversation(TeamFactory(name="Billing", slug="billing"), "invoice?")

    assert row_ids(rows(signed_in, [elsewhere.pk], view="team")) == []


def test_a_supervisors_teams_queue_holds_only_their_teams_and_all_holds_every_team(
    client, default_team
):
    supervisor = AgentFactory(is_superuser=True, teams=[default_team])
    client.login(username=supervisor.username, password=AGENT_PASSWORD)
    ours = conversation(default_team, "where is my order?")
    elsewhere = conversation(TeamFactory(name="Billing", slug="billing"), "invoice?", handle="bo")

    assert row_ids(rows(client, [ours.pk, elsewhere.pk], view="team")) == [ours.pk]
    assert sorted(row_ids(rows(client, [ours.pk, elsewhere.pk], view="all"))) == sorted(
        [ours.pk, elsewhere.pk]
    )


def test_the_live_inbox_gets_the_badges_with_its_rows(signed_in, default_team, agent):
    # One request per batch of changes: the rows under the agent's view, and every view's
    # badge as /inbox/counts/ (and the page) counts them.
    mine = conversation(default_team, "where is my order?", assignee=agent)
    theirs = conversation(default_team, "where is my refund?", handle="bo")
    conversation(TeamFactory(name="Billing", slug="billing"), "invoice?", handle="cy")

    response = signed_in.get(
        reverse("inbox_rows"), {"ids": f"{mine.pk},{theirs.pk}", "view": "mine", "counts": "1"}
    )

    assert response.status_code == 200
    answer = response.json()
    assert row_ids(answer["rows"]) == [mine.pk]
    assert answer["counts"]["mine"] == 1
    assert answer["counts"]["team"] == 2 and answer["counts"]["unassigned"] == 1
    assert answer["counts"] == signed_in.get(reverse("inbox_counts")).json()

    Conversation.objects.filter(pk=theirs.pk).update(assignee=agent)
    later = signed_in.get(
        reverse("inbox_rows"), {"ids": str(theirs.pk), "view": "mine", "counts": "1"}
    ).json()
    assert row_ids(later["rows"]) == [theirs.pk]
    assert later["counts"]["mine"] == 2 and later["counts"]["unassigned"] == 0


def test_post_text_comes_back_escaped(signed_in, default_team):
    hostile = conversation(default_team, HOSTILE_TEXT, handle="mallory")

    html = rows(signed_in, [hostile.pk], view="all")

    assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=x" in html


@pytest.mark.parametrize("query", [{}, {"ids": "1,x"}, {"ids": ",".join(["1"] * 101)}])
def test_bad_ids_are_refused_with_a_reason(signed_in, query):
    response = signed_in.get(reverse("inbox_rows"), query)

    assert response.status_code == 400
    assert "conversation ids" in response.content.decode()


def test_a_bad_filter_is_refused_with_a_reason(signed_in, default_team):
    response = signed_in.get(reverse("inbox_rows"), {"ids": "1", "priority": "urgent-ish"})

    assert response.status_code == 400
    assert "priority" in response.content.decode()


def test_signed_out_gets_no_rows(client, default_team):
    response = client.get(reverse("inbox_rows"), {"ids": "1"})

    assert response.status_code == 302


@pytest.mark.parametrize("sort", list(INBOX_SORTS))
def test_the_sort_keys_put_rows_in_the_pages_order(signed_in, default_team, sort):
    made = [
        conversation(default_team, "first", handle="a", ago_minutes=30, priority=Priority.LOW),
        conversation(default_team, "second", handle="b", ago_minutes=20, priority=Priority.HIGH),
        conversation(default_team, "third", handle="c", ago_minutes=20, priority=Priority.LOW),
        conversation(default_team, "fourth", handle="d", ago_minutes=5, priority=Priority.URGENT),
    ]
    page = signed_in.get(reverse("inbox"), {"view": "all", "sort": sort}).context["conversations"]
    assert len(page) == len(made)

    # From the reverse order, so keys that failed to tell rows apart could not pass.
    by_key = sorted(reversed(page), key=lambda row: json.loads(row.sort_key))

    assert [row.pk for row in by_key] == [row.pk for row in page]
    # Each row the endpoint sends carries the same key as on the page.
    html = rows(signed_in, [row.pk for row in page], view="all", sort=sort)
    for row in page:
        assert f'data-sort-key="{row.sort_key}"' in html
