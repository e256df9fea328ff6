"""An agent hands a conversation to another team's queue (routing.services.move_to_team)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core.models import AssignmentStrategy, Conversation
from core.realtime import user_group
from routing.services import move_to_team
from tests.factories import AgentFactory, ConversationFactory, PostFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing():
    return TeamFactory(name="Billing")


def waiting_in(team, **fields) -> Conversation:
    conversation = ConversationFactory(team=team, **fields)
    PostFactory(conversation=conversation, text="I was charged twice")
    return conversation


def test_a_moved_conversation_waits_unassigned_in_the_new_queue_with_a_note(
    default_team, agent, billing, notices, django_capture_on_commit_callbacks
):
    conversation = waiting_in(default_team, assignee=agent)

    with django_capture_on_commit_callbacks(execute=True):
        move_to_team(conversation_id=conversation.pk, team=billing, by=agent)

    conversation.refresh_from_db()
    assert conversation.team == billing
    assert conversation.assignee is None  # they do not work in Billing
    assert conversation.routed_by is None
    note = conversation.notes.get()
    assert note.author == agent
    assert note.text.endswith(f"moved this from {default_team.name} to Billing.")
    assert notices == []  # they moved it themselves


def test_the_assignee_hears_when_someone_else_moves_their_conversation_away(
    default_team, agent, billing, notices, django_capture_on_commit_callbacks
):
    supervisor = AgentFactory(teams=[default_team], first_name="Sam")
    conversation = waiting_in(default_team, assignee=agent)

    with django_capture_on_commit_callbacks(execute=True):
        move_to_team(conversation_id=conversation.pk, team=billing, by=supervisor)

    [(groups, payload)] = notices
    assert groups == [user_group(agent.pk)]
    assert (payload["event"], payload["url"]) == ("moved", "")
    assert payload["text"] == (
        f"Sam moved conversation #{conversation.pk} to Billing; it is no longer yours."
    )


def test_an_assignee_who_works_in_the_new_team_keeps_it(default_team, billing):
    both = AgentFactory(teams=[default_team, billing])
    conversation = waiting_in(default_team, assignee=both)

    move_to_team(conversation_id=conversation.pk, team=billing, by=both)

    conversation.refresh_from_db()
    assert (conversation.team, conversation.assignee) == (billing, both)


def test_the_new_teams_assignment_gives_it_to_one_of_its_online_agents(default_team, agent):
    billing = TeamFactory(name="Billing", assignment_strategy=AssignmentStrategy.ROUND_ROBIN)
    biller = AgentFactory(teams=[billing])
    conversation = waiting_in(default_team)

    move_to_team(conversation_id=conversation.pk, team=billing, by=agent)

    conversation.refresh_from_db()
    assert conversation.assignee == biller


def test_moving_it_to_its_own_team_is_refused(default_team, agent):
    conversation = waiting_in(default_team)

    with pytest.raises(ValidationError, match="is in Customer care already"):
        move_to_team(conversation_id=conversation.pk, team=default_team, by=agent)

    assert not conversation.notes.exists()
