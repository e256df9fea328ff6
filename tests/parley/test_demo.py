"""`seed_demo`: what an agent finds in the demo on their first hour — reply templates for the
feed's usual posts and a macro, filled in for the customer in front of them."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from core.models import Platform, ReplyTemplate, Team
from helpdesk.models import Macro
from ingestion.models import PlatformAccount
from tests.factories import ConversationFactory, CustomerFactory, PostFactory

pytestmark = pytest.mark.django_db


def seed() -> None:
    call_command("seed_demo", stdout=io.StringIO())


def offered_templates(page: str) -> dict[str, dict]:
    data = page.split('<script id="reply-templates" type="application/json">')[1].split(
        "</script>"
    )[0]
    return {template["name"]: template for template in json.loads(data)}


def demo_conversation(team_slug: str):
    conversation = ConversationFactory(
        team=Team.objects.get(slug=team_slug),
        account=PlatformAccount.objects.get(platform=Platform.DEMO),
        customer=CustomerFactory(display_name="Nadia Haddad", handle="nadia_writes"),
    )
    PostFactory(conversation=conversation, text="@parley_demo where is my parcel?")
    return conversation


def demo_agents_page(client, team_slug: str) -> str:
    """The conversation page the demo agent sees for a new conversation in that team."""
    conversation = demo_conversation(team_slug)
    client.login(username="agent", password="parley-agent")
    return client.get(reverse("conversation", args=[conversation.pk])).content.decode()


def test_the_demo_agent_is_offered_templates_filled_in_for_the_customer(client):
    seed()

    page = demo_agents_page(client, "customer-care")

    offered = offered_templates(page)
    # The Priority care team's outage answer is not offered in Customer care.
    assert set(offered) == {
        "Thanks for the kind words",
        "Sorry, send us a DM",
        "Change of delivery address",
    }
    dm = offered["Sorry, send us a DM"]["text"]
    assert dm.startswith("Hi Nadia, sorry about this.")
    assert dm.endswith("^Dana")
    for template in offered.values():
        assert template["unknown"] == []
        assert len(template["text"]) <= 280  # the demo platform's limit
    assert "Ask for the order number" in page  # the macro picker


def test_priority_care_is_offered_the_outage_answer(client):
    seed()

    offered = offered_templates(demo_agents_page(client, "priority-care"))
    assert "Known outage" in offered
    assert "Change of delivery address" not in offered
    assert "Updates follow on @parley_demo" in offered["Known outage"]["text"]


def test_seeding_again_adds_no_second_copy():
    seed()
    seed()

    assert ReplyTemplate.objects.count() == 4
    assert Macro.objects.filter(name="Ask for the order number").count() == 1
