"""A routing rule's "has tag" condition (issue 18 item 14): it routes a conversation when an
agent tags it, and stays out of the way of conversations without the tag."""

import pytest

from core.models import Platform
from helpdesk.services import BulkAction, bulk_update_conversations, tag_conversation
from routing.models import RoutingRule
from routing.services import try_rule
from tests.factories import ConversationFactory, PostFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip_team():
    return TeamFactory(name="VIP care")


@pytest.fixture
def vip_rule(vip_team):
    return RoutingRule.objects.create(name="VIPs", has_tag="VIP", team=vip_team)


@pytest.fixture
def conversation(default_team):
    conversation = ConversationFactory(team=default_team)
    PostFactory(conversation=conversation)
    return conversation


def test_tagging_moves_an_unassigned_conversation_to_the_rules_team(
    conversation, vip_rule, vip_team, agent
):
    tag_conversation(conversation_id=conversation.pk, agent=agent, add="vip")

    conversation.refresh_from_db()
    assert (conversation.team, conversation.routed_by) == (vip_team, vip_rule)
    assert "rule “VIPs” moved this to VIP care" in conversation.notes.last().text


def test_another_tag_does_not_move_it(conversation, vip_rule, default_team, agent):
    tag_conversation(conversation_id=conversation.pk, agent=agent, add="billing")

    conversation.refresh_from_db()
    assert conversation.team == default_team


def test_an_assigned_conversation_stays_with_its_agent_and_a_note_says_so(
    conversation, vip_rule, default_team, agent
):
    conversation.assignee = agent
    conversation.save()

    tag_conversation(conversation_id=conversation.pk, agent=agent, add="VIP")

    conversation.refresh_from_db()
    assert conversation.team == default_team
    assert "Kept with its assignee" in conversation.notes.last().text


def test_the_rules_other_conditions_still_apply(conversation, vip_team, default_team, agent):
    RoutingRule.objects.create(
        name="VIPs on X", has_tag="vip", platform=Platform.TWITTER, team=vip_team
    )

    tag_conversation(conversation_id=conversation.pk, agent=agent, add="vip")

    conversation.refresh_from_db()
    assert conversation.team == default_team  # a demo post, not an X one


def test_bulk_tagging_routes_each_conversation(default_team, vip_rule, vip_team, agent):
    conversations = [ConversationFactory(team=default_team) for _ in range(3)]
    for conversation in conversations:
        PostFactory(conversation=conversation)

    bulk_update_conversations(
        conversation_ids=[c.pk for c in conversations],
        agent=agent,
        action=BulkAction.TAG,
        tag="vip",
    )

    teams = {
        c.team_id
        for c in type(conversations[0]).objects.filter(pk__in=[c.pk for c in conversations])
    }
    assert teams == {vip_team.pk}


def test_the_rule_tester_takes_the_sample_conversations_tags(vip_rule):
    common = {"text": "@brand hello", "platform": "demo", "follower_count": 1, "is_verified": False}

    assert try_rule(vip_rule, tags="vip, billing", **common).matches
    assert not try_rule(vip_rule, tags="billing", **common).matches
