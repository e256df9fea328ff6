"""The conversation page's "Move to another team…": a page listing the other teams, and the
move, answered where the agent can still follow the conversation."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core.models import Conversation
from core.roles import SUPERVISOR
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
def billing():
    return TeamFactory(name="Billing")


@pytest.fixture
def conversation(default_team):
    conversation = ConversationFactory(team=default_team, customer=CustomerFactory(handle="maria"))
    PostFactory(conversation=conversation, text="I was charged twice")
    return conversation


def signed_in(client, user):
    client.login(username=user.username, password=AGENT_PASSWORD)
    return client


def test_the_conversation_page_links_to_the_move(client, agent, conversation):
    page = signed_in(client, agent).get(reverse("conversation", args=[conversation.pk]))

    assert reverse("conversation_team", args=[conversation.pk]) in page.content.decode()


def test_the_move_page_offers_every_other_team(client, agent, conversation, billing):
    TeamFactory(name="Returns")

    page = signed_in(client, agent).get(reverse("conversation_team", args=[conversation.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "It is in Customer care's queue." in html
    options = page.context["form"].fields["team"].queryset
    assert [team.name for team in options] == ["Billing", "Returns"]


def test_an_agent_who_moves_it_out_of_their_teams_goes_back_to_the_inbox(
    client, agent, conversation, billing
):
    signed_in(client, agent)

    moved = client.post(
        reverse("conversation_team", args=[conversation.pk]), {"team": billing.pk}, follow=True
    )

    assert moved.redirect_chain[-1][0] == reverse("inbox")
    assert "Moved to Billing: it has left your teams&#x27; queue." in moved.content.decode()
    assert Conversation.objects.get(pk=conversation.pk).team == billing
    gone = client.get(reverse("conversation", args=[conversation.pk]))
    assert gone.status_code == 404


def test_a_supervisor_who_sees_every_team_stays_on_the_conversation(client, conversation, billing):
    supervisor = AgentFactory(teams=[])
    supervisor.groups.add(Group.objects.get(name=SUPERVISOR))

    moved = signed_in(client, supervisor).post(
        reverse("conversation_team", args=[conversation.pk]), {"team": billing.pk}, follow=True
    )

    assert moved.redirect_chain[-1][0] == reverse("conversation", args=[conversation.pk])
    assert "Moved to Billing." in moved.content.decode()
    assert "moved this from Customer care to Billing." in moved.content.decode()


def test_an_unknown_team_is_refused_on_the_form(client, agent, conversation, default_team):
    signed_in(client, agent)

    for team in ("999999", str(default_team.pk)):  # no such team; the team it is in
        refused = client.post(reverse("conversation_team", args=[conversation.pk]), {"team": team})

        assert refused.status_code == 400
        assert "Select a valid choice" in refused.content.decode()
    assert Conversation.objects.get(pk=conversation.pk).team == default_team


def test_another_teams_conversation_cannot_be_moved(client, agent, billing):
    elsewhere = ConversationFactory(team=billing)

    refused = signed_in(client, agent).post(
        reverse("conversation_team", args=[elsewhere.pk]), {"team": billing.pk}
    )

    assert refused.status_code == 404
