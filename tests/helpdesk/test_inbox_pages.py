"""A queue longer than a page: the inbox shows the first rows and "Show more" the next.

The next page starts after the last row shown (its sort key), so paging through a list gives
every conversation once, in the list's order, whatever the sort and however many share a
time or a priority; and the live inbox of a later page leaves out what comes before it.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Conversation
from helpdesk import selectors
from tests.factories import AGENT_PASSWORD, ConversationFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    return client


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-conversation-id="(\d+)"', html)]


def waiting_queue(team, count: int) -> list[int]:
    """`count` conversations of `team`, each waiting a minute less than the one before; their
    ids in queue order (who has waited longest first)."""
    start = timezone.now() - timedelta(hours=5)
    ids = []
    for number in range(count):
        at = start + timedelta(minutes=number)
        made = ConversationFactory(team=team)
        PostFactory(conversation=made, text=f"@brand return number {number}", created_at=at)
        # Unanswered, so waiting since it began (Conversation.waiting_since).
        Conversation.objects.filter(pk=made.pk).update(created_at=at, last_inbound_at=at)
        ids.append(made.pk)
    return ids


def show_more_link(html: str) -> str | None:
    link = re.search(r'<a href="\?([^"]*)" id="show-more"( hidden)?', html)
    assert link, "the page has no Show more link"
    return None if link.group(2) else link.group(1).replace("&amp;", "&")


def test_a_long_queue_shows_a_page_then_the_rest_behind_show_more(signed_in, default_team):
    queue = waiting_queue(default_team, selectors.INBOX_PAGE_SIZE + 7)

    first = signed_in.get(reverse("inbox"))
    first_html = first.content.decode()
    next_query = show_more_link(first_html)
    following = signed_in.get(reverse("inbox") + "?" + next_query)
    following_html = following.content.decode()

    assert row_ids(first_html) == queue[: selectors.INBOX_PAGE_SIZE]
    assert following.status_code == 200
    assert row_ids(following_html) == queue[selectors.INBOX_PAGE_SIZE :]
    assert show_more_link(following_html) is None
    assert "Back to the top of the list" in following_html
    # Its live inbox asks only for rows after where the page starts.
    rows_url = re.search(r'data-rows-url="([^"]*)"', following_html).group(1)
    assert "after=" in rows_url


def test_show_more_appends_the_next_page_and_says_where_the_one_after_starts(
    signed_in, default_team
):
    queue = waiting_queue(default_team, 2 * selectors.INBOX_PAGE_SIZE + 3)
    first_html = signed_in.get(reverse("inbox")).content.decode()
    last_row_key = re.findall(r'data-sort-key="([^"]*)"', first_html)[-1].replace("&quot;", '"')

    second = signed_in.get(reverse("inbox_rows"), {"view": "team", "after": last_row_key})
    third = signed_in.get(reverse("inbox_rows"), {"view": "team", "after": second.json()["next"]})

    page_size = selectors.INBOX_PAGE_SIZE
    assert row_ids(second.json()["rows"]) == queue[page_size : 2 * page_size]
    assert row_ids(third.json()["rows"]) == queue[2 * page_size :]
    assert third.json()["next"] == ""


def test_a_short_queue_offers_no_more(signed_in, default_team):
    waiting_queue(default_team, 3)

    html = signed_in.get(reverse("inbox")).content.decode()

    assert len(row_ids(html)) == 3
    assert show_more_link(html) is None


@pytest.mark.parametrize("sort", list(selectors.INBOX_SORTS))
def test_paging_gives_every_conversation_once_in_order_for_every_sort(default_team, sort):
    # Ties on every term, and NULLs, so a page boundary falls inside runs of equal values.
    # Waiting since it began while unanswered; once answered, since the customer's open turn
    # (none: NULL, owing nothing, no response due).
    now = timezone.now().replace(microsecond=123_457)
    times = [None, now - timedelta(hours=2), now - timedelta(minutes=3, microseconds=1)]
    for answered, began, priority, due, last_inbound in itertools.product(
        [False, True], times[1:], [0, 2], times, times[:2]
    ):
        made = ConversationFactory(team=default_team, priority=priority)
        Conversation.objects.filter(pk=made.pk).update(
            created_at=began,
            first_response_at=now if answered else None,
            open_turn_started_at=due if answered else None,
            first_response_due_at=None if answered else due,
            last_inbound_at=last_inbound,
        )
    everything = Conversation.objects.all()
    whole = [row.pk for row in selectors.inbox_page(everything, sort=sort, limit=1000).rows]

    paged, after = [], None
    for _ in whole:
        page = selectors.inbox_page(everything, sort=sort, limit=4, after=after)
        paged += [row.pk for row in page.rows]
        if not page.more:
            break
        after = selectors.parse_position(page.next_position, sort)
    else:
        pytest.fail(f"more pages than conversations: {paged}")

    assert len(whole) == 48
    assert paged == whole


def test_the_live_inbox_of_a_later_page_leaves_out_what_comes_before_it(signed_in, default_team):
    queue = waiting_queue(default_team, 6)
    rows = selectors.inbox_page(Conversation.objects.all(), limit=3).rows
    after = rows[-1].sort_key

    answer = signed_in.get(
        reverse("inbox_rows"), {"view": "team", "ids": ",".join(map(str, queue)), "after": after}
    )

    assert row_ids(answer.content.decode()) == queue[3:]


@pytest.mark.parametrize(
    "after, message",
    [
        ("[1, 2", "not a position in the list"),
        ('{"a": 1}', "a list of 8 whole numbers"),
        ("[0, 1, 0, 2]", "a list of 8 whole numbers"),
        ("[0, 1.5, 0, 2, 0, 3, 0, 4]", "a list of 8 whole numbers"),
        (json.dumps([0, 10**30, 0, 2, 0, 3, 0, 4]), "out of range"),
        ("[7, 1, 0, 2, 0, 3, 0, 4]", "7 is not a place for waiting_since"),
    ],
)
def test_a_position_that_is_not_one_is_refused_with_what_is_wrong(
    signed_in, default_team, after, message
):
    waiting_queue(default_team, 2)

    rows_answer = signed_in.get(reverse("inbox_rows"), {"view": "team", "after": after})
    page = signed_in.get(reverse("inbox"), {"view": "team", "after": after})

    assert rows_answer.status_code == 400
    assert message in rows_answer.content.decode()
    assert page.status_code == 400
    assert message in page.content.decode()
    # The page still lists the queue from the top.
    assert len(row_ids(page.content.decode())) == 2


def test_n_follows_the_list_however_deep_the_agent_has_shown_it(signed_in, default_team):
    # Past the 200 rows `n` once read: an agent four "Show more"s down the queue.
    queue = waiting_queue(default_team, 205)

    response = signed_in.get(reverse("conversation_next", args=[queue[202]]))

    assert response.status_code == 302
    assert response.url == reverse("conversation", args=[queue[203]])
