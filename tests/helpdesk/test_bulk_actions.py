"""Bulk actions on the rows an agent selected in the inbox (issue 18, item 13): one service
call, all or nothing, audited per conversation, broadcast once."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from core.models import Conversation, ConversationStatus
from helpdesk import services
from sla.models import SlaTimer, TimerKind
from tests.factories import (
    AGENT_PASSWORD,
    AgentFactory,
    ConversationFactory,
    PostFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    return client


@pytest.fixture
def broadcasts(monkeypatch):
    sent: list[tuple[list[int], str]] = []
    monkeypatch.setattr(
        "helpdesk.services.broadcast_conversations",
        lambda ids, *, event, left_teams=None: sent.append((list(ids), event)),
    )
    return sent


def three(team) -> list[Conversation]:
    conversations = [ConversationFactory(team=team) for _ in range(3)]
    for conversation in conversations:
        PostFactory(conversation=conversation)
    return conversations


def test_bulk_assign_assigns_every_row_audits_each_and_broadcasts_once(
    logged_in, agent, default_team, broadcasts, django_capture_on_commit_callbacks
):
    colleague = AgentFactory(first_name="Ben", teams=[default_team])
    rows = three(default_team)

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(
            reverse("inbox_bulk"),
            {
                "ids": [c.pk for c in rows],
                "action": "assign",
                "assignee": colleague.pk,
                "inbox_query": "view=team",
            },
            follow=True,
        )

    assert response.redirect_chain[-1][0] == reverse("inbox") + "?view=team"
    assert "Assigned 3 conversations to Ben." in response.content.decode()
    assert set(Conversation.objects.values_list("assignee", flat=True)) == {colleague.pk}
    assert broadcasts == [(sorted(c.pk for c in rows), "conversation.bulk")]
    logged = LogEntry.objects.filter(
        content_type__model="conversation",
        object_pk__in=[str(c.pk) for c in rows],
        action=LogEntry.Action.UPDATE,
    )
    assert logged.count() == 3
    assert {entry.actor_id for entry in logged} == {agent.pk}


def test_bulk_assign_outside_the_team_changes_nothing_and_says_which(logged_in, default_team):
    outsider_team = TeamFactory()
    outsider = AgentFactory(teams=[default_team])
    rows = three(default_team)
    elsewhere = ConversationFactory(team=outsider_team)
    someone = AgentFactory(teams=[outsider_team])

    with pytest.raises(Exception) as refused:
        services.bulk_update_conversations(
            conversation_ids=[*[c.pk for c in rows], elsewhere.pk],
            agent=outsider,
            action="assign",
            assignee=someone,
        )

    assert f"#{rows[0].pk}" in str(refused.value)
    assert not Conversation.objects.filter(assignee__isnull=False).exists()


def test_bulk_resolve_stops_every_clock(agent, default_team):
    rows = three(default_team)
    from sla.services import start_response_clocks

    for conversation in rows:
        start_response_clocks(conversation=conversation, post=conversation.posts.get())
        conversation.save()

    services.bulk_update_conversations(
        conversation_ids=[c.pk for c in rows], agent=agent, action="status", status="resolved"
    )

    assert set(Conversation.objects.values_list("status", flat=True)) == {"resolved"}
    assert not SlaTimer.objects.filter(stopped_at=None).exists()
    assert SlaTimer.objects.filter(kind=TimerKind.FIRST_RESPONSE).count() == 3


def test_bulk_snooze_tag_and_spam(logged_in, agent, default_team):
    rows = three(default_team)
    ids = [c.pk for c in rows]

    logged_in.post(reverse("inbox_bulk"), {"ids": ids, "action": "snooze", "snooze": "4h"})
    logged_in.post(reverse("inbox_bulk"), {"ids": ids[:2], "action": "tag", "tag": "refunds"})
    logged_in.post(reverse("inbox_bulk"), {"ids": ids[2:], "action": "spam"})

    snoozed = logged_in.get(reverse("inbox"), {"view": "snoozed"}).context["conversations"]
    assert {c.pk for c in snoozed} == set(ids[:2])
    assert (
        sorted(Conversation.objects.filter(tags__name="refunds").values_list("pk", flat=True))
        == ids[:2]
    )
    spam = Conversation.objects.get(pk=ids[2])
    assert spam.needs_reply is False
    assert spam.notes.get().text == "Marked as needs no reply."


def test_bulk_ignores_conversations_the_agent_cannot_see(logged_in, default_team):
    hidden = ConversationFactory(team=TeamFactory())
    mine = ConversationFactory(team=default_team)

    response = logged_in.post(
        reverse("inbox_bulk"),
        {"ids": [hidden.pk, mine.pk], "action": "status", "status": "pending"},
        follow=True,
    )

    assert "1 conversation: Pending customer." in response.content.decode()
    hidden.refresh_from_db()
    assert hidden.status == ConversationStatus.NEW


def test_bulk_without_a_selection_says_so(logged_in):
    response = logged_in.post(reverse("inbox_bulk"), {"action": "spam"}, follow=True)

    assert "Select at least one conversation." in response.content.decode()


def test_bulk_with_an_unknown_action_says_so(logged_in, default_team):
    row = ConversationFactory(team=default_team)

    response = logged_in.post(
        reverse("inbox_bulk"), {"ids": [row.pk], "action": "delete"}, follow=True
    )

    assert "“delete” is not a bulk action." in response.content.decode()


def test_the_inbox_offers_the_bulk_bar_and_a_box_per_row(logged_in, default_team):
    rows = three(default_team)

    page = logged_in.get(reverse("inbox")).content.decode()

    assert 'id="bulk-form"' in page
    for conversation in rows:
        assert f'name="ids" value="{conversation.pk}" form="bulk-form"' in page


def test_an_agent_pulls_a_conversation_back_from_no_reply_needed(logged_in, default_team):
    conversation = ConversationFactory(team=default_team, needs_reply=False)
    PostFactory(conversation=conversation)

    response = logged_in.post(
        reverse("conversation_needs_reply", args=[conversation.pk]),
        {"needs_reply": "yes"},
        follow=True,
    )

    assert "Back in the queue" in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.needs_reply is True
    assert SlaTimer.objects.get(conversation=conversation, kind=TimerKind.FIRST_RESPONSE).is_running


def _move_to_team(client, conversations: list[Conversation], team) -> str:
    """The inbox page after the bulk action moving `conversations` to `team`."""
    response = client.post(
        reverse("inbox_bulk"),
        {
            "ids": [c.pk for c in conversations],
            "action": "team",
            "team": team.pk,
            "inbox_query": "view=team",
        },
        follow=True,
    )
    return response.content.decode()


def test_bulk_move_to_a_team_moves_each_row_with_a_note_and_not_one_the_agent_cannot_see(
    logged_in, agent, default_team, django_capture_on_commit_callbacks
):
    billing = TeamFactory(name="Billing")
    rows = three(default_team)
    hidden = ConversationFactory(team=billing)

    with django_capture_on_commit_callbacks(execute=True):
        page = _move_to_team(logged_in, [*rows, hidden], billing)

    # The agent is not in Billing: they may not touch its conversation, which stays as it was.
    assert "Moved 3 conversations to Billing." in page
    assert set(
        Conversation.objects.filter(pk__in=[c.pk for c in rows]).values_list("team", flat=True)
    ) == {billing.pk}
    for conversation in rows:
        assert conversation.notes.get().text.endswith("to Billing.")
    assert not hidden.notes.exists()


def test_bulk_move_without_a_team_is_refused(logged_in, default_team):
    rows = three(default_team)

    response = logged_in.post(
        reverse("inbox_bulk"),
        {"ids": [c.pk for c in rows], "action": "team", "inbox_query": ""},
        follow=True,
    )

    assert "Choose the team to move them to." in response.content.decode()
    assert set(Conversation.objects.values_list("team", flat=True)) == {default_team.pk}


def test_bulk_move_counts_only_the_conversations_it_moved(logged_in, agent, default_team):
    billing = TeamFactory(name="Billing")
    agent.agent_profile.teams.add(billing)
    rows = three(default_team)
    there = ConversationFactory(team=billing)

    page = _move_to_team(logged_in, [*rows, there], billing)

    assert "Moved 3 conversations to Billing." in page
    assert not there.notes.exists()
