"""Every API endpoint keeps team A's agent out of team B's conversations; supervisors read all."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from core import roles
from tests.factories import AgentFactory, ConversationFactory, PostFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_b_conversation():
    conversation = ConversationFactory(team=TeamFactory(name="Team B"))
    PostFactory(conversation=conversation)
    return conversation


@pytest.fixture
def agent_of_team_a():
    api = APIClient()
    api.force_authenticate(AgentFactory(teams=[TeamFactory(name="Team A")]))
    return api


READS = [
    "/api/conversations/{id}/",
    "/api/conversations/{id}/templates/",
    "/api/conversations/{id}/sla-timers/",
    "/api/customers/{customer}/",
    "/api/customers/{customer}/conversations/",
]
WRITES = [
    ("/api/conversations/{id}/reply/", {"text": "hi"}),
    ("/api/conversations/{id}/assign/", {"agent": None, "expected_assignee": None}),
    ("/api/conversations/{id}/status/", {"status": "resolved"}),
    ("/api/conversations/{id}/notes/", {"text": "hi"}),
]


@pytest.mark.parametrize("url", READS)
def test_agent_cannot_read_another_teams_conversation(agent_of_team_a, team_b_conversation, url):
    url = url.format(id=team_b_conversation.pk, customer=team_b_conversation.customer_id)

    assert agent_of_team_a.get(url).status_code == 404


@pytest.mark.parametrize(("url", "data"), WRITES)
def test_agent_cannot_act_on_another_teams_conversation(
    agent_of_team_a, team_b_conversation, url, data
):
    response = agent_of_team_a.post(url.format(id=team_b_conversation.pk), data, format="json")

    assert response.status_code == 404
    team_b_conversation.refresh_from_db()
    assert team_b_conversation.status == "new"
    assert not team_b_conversation.notes.exists()
    assert team_b_conversation.posts.count() == 1


@pytest.mark.parametrize("url", ["/api/conversations/", "/api/customers/"])
def test_lists_leave_out_other_teams(agent_of_team_a, team_b_conversation, url):
    assert agent_of_team_a.get(url).data["results"] == []


def test_teams_list_shows_only_the_agents_teams(agent_of_team_a, team_b_conversation):
    assert [team["name"] for team in agent_of_team_a.get("/api/teams/").data] == ["Team A"]


@pytest.mark.parametrize("url", READS)
def test_supervisor_reads_every_team(team_b_conversation, url):
    supervisor = AgentFactory()
    supervisor.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    api = APIClient()
    api.force_authenticate(supervisor)
    url = url.format(id=team_b_conversation.pk, customer=team_b_conversation.customer_id)

    assert api.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/api/conversations/", "/api/customers/", "/api/teams/"])
def test_anonymous_is_refused(url):
    assert APIClient().get(url).status_code == 403


def test_api_offers_no_way_to_change_settings(agent_of_team_a):
    for url in ("/api/teams/", "/api/reply-templates/"):
        assert agent_of_team_a.post(url, {"name": "x"}).status_code == 405
