"""The inbox page: view tabs with counts, the filter bar and search, snoozes, query count."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import ConversationStatus, Intent, Platform, Priority
from ingestion.models import PlatformAccount
from ingestion.pipeline import process_inbound_post
from sla.models import SlaTimer, TimerKind, TimerState
from tests.factories import (
    AGENT_PASSWORD,
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    PostFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    return client


def waiting(text: str, **conversation_fields):
    """A conversation with one inbound post, as the inbox lists it."""
    return PostFactory(conversation=ConversationFactory(**conversation_fields), text=text)


def rows_of(response) -> str:
    return response.content.decode().split('id="conversation-rows"')[1].split("</tbody>")[0]


def test_agents_inbox_opens_on_their_teams_queue(logged_in, agent, default_team):
    waiting("@brand team post", team=default_team)

    response = logged_in.get(reverse("inbox"))

    assert response.context["view"] == "team"
    assert "@brand team post" in rows_of(response)


def test_mine_shows_only_conversations_assigned_to_me(logged_in, agent, default_team):
    colleague = AgentFactory(teams=[default_team])
    waiting("@brand assigned to me", team=default_team, assignee=agent)
    waiting("@brand assigned to a colleague", team=default_team, assignee=colleague)
    waiting("@brand nobody's yet", team=default_team)

    rows = rows_of(logged_in.get(reverse("inbox"), {"view": "mine"}))

    assert "@brand assigned to me" in rows
    assert "assigned to a colleague" not in rows
    assert "nobody" not in rows


def test_unassigned_shows_only_conversations_without_an_assignee(logged_in, agent, default_team):
    waiting("@brand assigned to me", team=default_team, assignee=agent)
    waiting("@brand up for grabs", team=default_team)

    rows = rows_of(logged_in.get(reverse("inbox"), {"view": "unassigned"}))

    assert "@brand up for grabs" in rows
    assert "assigned to me" not in rows


def test_all_tab_is_offered_only_to_those_who_see_every_team(client, agent, default_team):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    agent_tabs = [tab["key"] for tab in client.get(reverse("inbox")).context["tabs"]]
    supervisor = AgentFactory(is_superuser=True)
    client.login(username=supervisor.username, password=AGENT_PASSWORD)
    supervisor_tabs = [tab["key"] for tab in client.get(reverse("inbox")).context["tabs"]]

    assert agent_tabs == ["mine", "team", "unassigned", "pending", "snoozed", "noreply"]
    assert supervisor_tabs == [
        "mine",
        "team",
        "unassigned",
        "all",
        "pending",
        "snoozed",
        "noreply",
    ]


def test_asking_for_all_without_permission_shows_only_own_teams(logged_in, default_team):
    waiting("@brand elsewhere", team=TeamFactory())

    response = logged_in.get(reverse("inbox"), {"view": "all"})

    assert response.context["view"] == "team"
    assert "elsewhere" not in rows_of(response)


def test_view_badges_count_each_view(logged_in, agent, default_team):
    waiting("a", team=default_team, assignee=agent)
    waiting("b", team=default_team, assignee=agent, first_response_at=timezone.now())
    waiting("c", team=default_team)
    waiting("d", team=default_team, status=ConversationStatus.RESOLVED)
    waiting("e", team=TeamFactory())

    response = logged_in.get(reverse("inbox"))

    counts = {tab["key"]: tab["count"] for tab in response.context["tabs"]}
    assert counts == {
        "mine": 2,
        "team": 3,
        "unassigned": 1,
        "pending": 0,
        "snoozed": 0,
        "noreply": 0,
    }
    assert response.context["mine_unanswered"] == 1
    assert 'data-count="mine">2<' in response.content.decode()


def test_counts_endpoint_matches_the_badges(logged_in, agent, default_team):
    waiting("a", team=default_team, assignee=agent)
    waiting("c", team=default_team)

    counts = logged_in.get(reverse("inbox_counts")).json()

    assert counts["mine"] == 1 and counts["team"] == 2 and counts["unassigned"] == 1


def test_filters_narrow_by_platform_intent_and_priority(logged_in, default_team):
    twitter = PlatformAccount.objects.create(platform=Platform.TWITTER, handle="acme")
    waiting(
        "@acme urgent complaint on X",
        team=default_team,
        account=twitter,
        intent=Intent.COMPLAINT,
        priority=Priority.URGENT,
    )
    waiting("@acme question on X", team=default_team, account=twitter, intent=Intent.QUESTION)
    waiting("@brand complaint on demo", team=default_team, intent=Intent.COMPLAINT)

    rows = rows_of(
        logged_in.get(
            reverse("inbox"),
            {"platform": "twitter", "intent": "complaint", "priority": str(Priority.URGENT)},
        )
    )

    assert "urgent complaint on X" in rows
    assert "question on X" not in rows
    assert "complaint on demo" not in rows


def test_status_filter_shows_resolved_conversations(logged_in, default_team):
    waiting("@brand still open", team=default_team)
    waiting("@brand all sorted", team=default_team, status=ConversationStatus.RESOLVED)

    rows = rows_of(logged_in.get(reverse("inbox"), {"status": "resolved"}))

    assert "all sorted" in rows
    assert "still open" not in rows


def test_search_finds_customer_handles_and_post_text(logged_in, default_team):
    waiting("@brand hello", team=default_team, customer=CustomerFactory(handle="maria_travels"))
    # Named, not Faker's random names: one of those was a "Maria", found by the search.
    waiting(
        "@brand my router blinks red",
        team=default_team,
        customer=CustomerFactory(display_name="Sam Okafor"),
    )
    waiting("@brand unrelated", team=default_team, customer=CustomerFactory(display_name="Li Wei"))

    by_handle = rows_of(logged_in.get(reverse("inbox"), {"q": "@maria"}))
    by_text = rows_of(logged_in.get(reverse("inbox"), {"q": "ROUTER"}))

    assert "@maria_travels" in by_handle and "unrelated" not in by_handle
    assert "router blinks red" in by_text and "unrelated" not in by_text


def test_unknown_filter_value_is_a_400_that_says_so(logged_in, default_team):
    waiting("@brand still listed", team=default_team)

    response = logged_in.get(reverse("inbox"), {"platform": "myspace"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Select a valid choice. myspace is not one of the available choices." in page
    assert "still listed" in rows_of(response)


def test_snoozed_conversation_is_hidden_until_it_wakes(logged_in, default_team):
    now = timezone.now()
    waiting("@brand snoozed", team=default_team, snoozed_until=now + timedelta(hours=1))
    waiting("@brand woke up", team=default_team, snoozed_until=now - timedelta(minutes=1))

    response = logged_in.get(reverse("inbox"))

    assert "snoozed" not in rows_of(response)
    assert "woke up" in rows_of(response)
    assert {tab["key"]: tab["count"] for tab in response.context["tabs"]}["team"] == 1


def test_a_new_post_from_the_customer_wakes_a_snoozed_conversation(logged_in, default_team):
    conversation = ConversationFactory(
        team=default_team, snoozed_until=timezone.now() + timedelta(days=1)
    )
    PostFactory(conversation=conversation, text="@brand first", intent=Intent.QUESTION)
    follow_up = PostFactory(conversation=conversation, text="@brand hello? still there?")

    process_inbound_post(post_id=follow_up.pk)

    conversation.refresh_from_db()
    assert conversation.snoozed_until is None
    assert "still there?" in rows_of(logged_in.get(reverse("inbox")))


def test_filters_are_kept_when_switching_tabs(logged_in, default_team):
    response = logged_in.get(reverse("inbox"), {"view": "team", "intent": "complaint"})

    mine_tab = next(tab for tab in response.context["tabs"] if tab["key"] == "mine")
    assert mine_tab["url"] == "?view=mine&intent=complaint"


@pytest.mark.parametrize("conversations", [3, 30])
def test_inbox_page_query_count_is_constant(
    logged_in, agent, default_team, conversations, django_assert_max_num_queries
):
    for n in range(conversations):
        waiting(f"post {n}", team=default_team, assignee=agent if n % 2 else None)

    # The inbox's budget is 12: 8 (session, user, permissions, page, counts, teams,
    # colleagues for bulk assign, saved views), and 3 more (a savepoint, the update, its
    # release) the first time the session keeps this view for "next" on a conversation.
    with django_assert_max_num_queries(12):
        response = logged_in.get(reverse("inbox"), {"view": "team", "q": "post"})

    assert response.content.decode().count('class="conversation ') == conversations


def test_sla_filter_shows_conversations_by_their_worst_running_timer(logged_in, default_team):
    now = timezone.now()
    breached = waiting("@brand breached one", team=default_team).conversation
    on_track = waiting("@brand on track one", team=default_team).conversation
    waiting("@brand no timers", team=default_team)
    # Breached is read at the due second (sla.selectors.with_sla): on track is due later.
    for conversation, state, due in [
        (breached, TimerState.BREACHED, now),
        (on_track, TimerState.OK, now + timedelta(minutes=10)),
    ]:
        SlaTimer.objects.create(
            conversation=conversation,
            kind=TimerKind.FIRST_RESPONSE,
            state=state,
            target_seconds=900,
            started_at=now,
            due_at=due,
        )

    rows = rows_of(logged_in.get(reverse("inbox"), {"sla": "breached"}))

    assert "breached one" in rows
    assert "on track one" not in rows and "no timers" not in rows
