import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from core.models import AgentProfile, AssignmentStrategy, Conversation, ConversationStatus
from routing.services import assign_conversation, auto_assign, set_agent_online
from tests.factories import AgentFactory, ConversationFactory, TeamFactory


def _assign_new(team) -> Conversation:
    with transaction.atomic():
        conversation = ConversationFactory(team=team)
        auto_assign(conversation=conversation)
        conversation.save()
    return conversation


@pytest.fixture
def round_robin_team(db):
    return TeamFactory(assignment_strategy=AssignmentStrategy.ROUND_ROBIN)


@pytest.mark.django_db
def test_round_robin_takes_turns_among_online_agents(round_robin_team):
    ann, bob, cy = (AgentFactory(username=n, teams=[round_robin_team]) for n in "abc")
    AgentProfile.objects.filter(user=cy).update(is_online=False)

    assignees = [_assign_new(round_robin_team).assignee for _ in range(4)]

    assert assignees == [ann, bob, ann, bob]


@pytest.mark.django_db
def test_capacity_is_respected_and_overflow_waits_in_the_queue(round_robin_team):
    ann = AgentFactory(teams=[round_robin_team])
    AgentProfile.objects.filter(user=ann).update(capacity=2)

    conversations = [_assign_new(round_robin_team) for _ in range(3)]

    assert [c.assignee for c in conversations] == [ann, ann, None]


@pytest.mark.django_db
def test_least_loaded_prefers_the_agent_with_fewest_open_conversations():
    team = TeamFactory(assignment_strategy=AssignmentStrategy.LEAST_LOADED)
    busy, free = AgentFactory(teams=[team]), AgentFactory(teams=[team])
    ConversationFactory.create_batch(3, team=team, assignee=busy)
    ConversationFactory(team=team, assignee=free, status=ConversationStatus.RESOLVED)

    assert _assign_new(team).assignee == free


@pytest.mark.django_db
def test_manual_team_leaves_conversations_in_the_queue(default_team, agent):
    assert _assign_new(default_team).assignee is None


@pytest.mark.django_db
def test_going_offline_returns_unanswered_conversations_to_colleagues(round_robin_team):
    leaving, staying = (
        AgentFactory(teams=[round_robin_team]),
        AgentFactory(teams=[round_robin_team]),
    )
    AgentProfile.objects.filter(user=staying).update(is_online=False)
    unanswered = _assign_new(round_robin_team)
    answered = _assign_new(round_robin_team)
    Conversation.objects.filter(pk=answered.pk).update(first_response_at=answered.created_at)
    AgentProfile.objects.filter(user=staying).update(is_online=True)

    returned = set_agent_online(agent=leaving, online=False)

    assert returned == [unanswered.pk]
    unanswered.refresh_from_db()
    answered.refresh_from_db()
    assert unanswered.assignee == staying
    assert answered.assignee == leaving


@pytest.mark.django_db
def test_manual_assignment_refuses_when_someone_else_changed_it(default_team, agent):
    colleague = AgentFactory(teams=[default_team])
    conversation = ConversationFactory(team=default_team, assignee=colleague)

    with pytest.raises(ValidationError, match="Someone else changed the assignee"):
        assign_conversation(conversation_id=conversation.pk, agent=agent, expected_assignee_id=None)

    conversation.refresh_from_db()
    assert conversation.assignee == colleague


@pytest.mark.django_db
def test_manual_assignment_only_to_agents_of_the_team(default_team):
    outsider = AgentFactory(teams=[TeamFactory()])
    conversation = ConversationFactory(team=default_team)

    with pytest.raises(ValidationError, match="not in this conversation's team"):
        assign_conversation(
            conversation_id=conversation.pk, agent=outsider, expected_assignee_id=None
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_auto_assignment_never_overfills_an_agent():
    """Eight workers assign eight conversations at once to a team with one slot per agent."""
    team = TeamFactory(assignment_strategy=AssignmentStrategy.ROUND_ROBIN)
    agents = [AgentFactory(teams=[team]) for _ in range(4)]
    AgentProfile.objects.update(capacity=1)
    conversations = ConversationFactory.create_batch(8, team=team)
    barrier = threading.Barrier(len(conversations))
    errors = []

    def work(conversation_id: int) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
                auto_assign(conversation=conversation)
                conversation.save()
        except Exception as error:  # surfaced below: a thread's failure must fail the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(c.pk,)) for c in conversations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assigned = list(Conversation.objects.exclude(assignee=None).values_list("assignee", flat=True))
    assert sorted(assigned) == sorted(agent.pk for agent in agents)
    assert Conversation.objects.filter(assignee=None).count() == 4
