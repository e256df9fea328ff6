"""Assigning through the API says nothing about users outside the team (security, item 9)."""

import pytest
from rest_framework.test import APIClient

from tests.factories import AgentFactory, ConversationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(agent):
    client = APIClient()
    client.force_authenticate(agent)
    return client


def test_unknown_username_and_user_outside_the_team_get_the_same_answer(api, default_team):
    conversation = ConversationFactory(team=default_team)
    AgentFactory(username="outsider", teams=[TeamFactory()])
    UserFactory(username="not-an-agent")
    url = f"/api/conversations/{conversation.pk}/assign/"

    answers = [
        api.post(url, {"agent": name, "expected_assignee": None}, format="json")
        for name in ("nobody-by-this-name", "outsider", "not-an-agent")
    ]

    assert {answer.status_code for answer in answers} == {400}
    assert {answer.content for answer in answers} == {
        b'{"agent":["No agent of this conversation\'s team has that username."]}'
    }
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_an_unknown_expected_assignee_is_a_plain_conflict(api, agent, default_team):
    conversation = ConversationFactory(team=default_team)
    AgentFactory(username="someone", teams=[TeamFactory()])
    url = f"/api/conversations/{conversation.pk}/assign/"

    answers = [
        api.post(url, {"agent": agent.username, "expected_assignee": name}, format="json")
        for name in ("nobody-by-this-name", "someone")
    ]

    assert [answer.status_code for answer in answers] == [409, 409]
    assert answers[0].content == answers[1].content


def test_a_teammate_is_still_assigned(api, default_team):
    conversation = ConversationFactory(team=default_team)
    teammate = AgentFactory(teams=[default_team])

    answer = api.post(
        f"/api/conversations/{conversation.pk}/assign/",
        {"agent": teammate.username, "expected_assignee": None},
        format="json",
    )

    assert answer.status_code == 200
    assert answer.data["assignee"] == teammate.username
