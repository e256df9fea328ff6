"""Saved inbox views and sort options (issue 18, item 12): an agent keeps a tab, filters and
sort under a name, for themselves or shared with a team."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.models import Priority
from helpdesk.models import SavedView
from tests.factories import (
    AGENT_PASSWORD,
    AgentFactory,
    ConversationFactory,
    PostFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


def log_in(client, user):
    client.login(username=user.username, password=AGENT_PASSWORD)
    return client


def test_an_agent_saves_the_view_on_screen_and_opens_it_again(client, agent, default_team):
    urgent = ConversationFactory(team=default_team, priority=Priority.URGENT)
    PostFactory(conversation=urgent)
    PostFactory(conversation=ConversationFactory(team=default_team))
    log_in(client, agent)

    response = client.post(
        reverse("inbox_save_view"),
        {"name": "Urgent first", "inbox_query": "view=team&priority=3&sort=due"},
        follow=True,
    )

    assert "Saved the view “Urgent first”." in response.content.decode()
    saved = SavedView.objects.get(owner=agent)
    assert saved.query == "view=team&priority=3&sort=due"
    page = client.get(reverse("inbox") + "?" + saved.query)
    assert [c.pk for c in page.context["conversations"]] == [urgent.pk]
    assert 'class="saved-view active"' in page.content.decode()


def test_a_view_shared_with_a_team_shows_for_its_agents_only(client, agent, default_team):
    colleague = AgentFactory(teams=[default_team])
    outsider = AgentFactory(teams=[TeamFactory()])
    log_in(client, agent)
    client.post(
        reverse("inbox_save_view"),
        {"name": "Team triage", "inbox_query": "view=unassigned", "shared_with": default_team.pk},
    )

    seen_by_colleague = log_in(client, colleague).get(reverse("inbox")).context["saved_views"]
    seen_by_outsider = log_in(client, outsider).get(reverse("inbox")).context["saved_views"]

    assert [view.name for view in seen_by_colleague] == ["Team triage"]
    assert seen_by_outsider == []


def test_sharing_with_a_team_one_is_not_in_is_refused(client, agent):
    other = TeamFactory()
    log_in(client, agent)

    response = client.post(
        reverse("inbox_save_view"),
        {"name": "Theirs", "inbox_query": "view=team", "shared_with": other.pk},
        follow=True,
    )

    assert "only share a view with a team you work in" in response.content.decode()
    assert not SavedView.objects.exists()


def test_only_the_owner_deletes_a_view(client, agent, default_team):
    colleague = AgentFactory(teams=[default_team])
    view = SavedView.objects.create(
        owner=agent, name="Mine", query="view=mine", shared_with=default_team
    )

    refused = log_in(client, colleague).post(
        reverse("inbox_delete_view", args=[view.pk]), follow=True
    )
    assert "No such view of yours." in refused.content.decode()
    log_in(client, agent).post(reverse("inbox_delete_view", args=[view.pk]))
    assert not SavedView.objects.exists()


def test_saved_views_keep_the_inbox_query_budget(
    client, agent, default_team, django_assert_max_num_queries
):
    for n in range(5):
        SavedView.objects.create(
            owner=AgentFactory(teams=[default_team]),
            name=f"Shared {n}",
            query="view=team",
            shared_with=default_team,
        )
        PostFactory(conversation=ConversationFactory(team=default_team))
    log_in(client, agent)
    client.get(reverse("inbox"))

    with django_assert_max_num_queries(12):
        response = client.get(reverse("inbox"))

    assert len(response.context["saved_views"]) == 5
