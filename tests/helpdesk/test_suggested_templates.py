"""Templates suggested for what the customer wrote last: a template may name the intent it
answers, and the composer offers those first, marked, when the latest post has it."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from core.models import Direction, Intent, ReplyTemplate
from tests.factories import AGENT_PASSWORD, ConversationFactory, PostFactory

pytestmark = pytest.mark.django_db


def offered(client, agent, conversation) -> list[dict]:
    """The composer's templates, in the order it offers them."""
    client.login(username=agent.username, password=AGENT_PASSWORD)
    page = client.get(reverse("conversation", args=[conversation.pk])).content.decode()
    data = page.split('<script id="reply-templates" type="application/json">')[1]
    return json.loads(data.split("</script>")[0])


@pytest.fixture
def templates(default_team):
    return [
        ReplyTemplate.objects.create(name=name, intent=intent, body=f"{name}!")
        for name, intent in (
            ("Apology", Intent.COMPLAINT),
            ("Opening hours", Intent.QUESTION),
            ("Plain hello", ""),
            ("Thanks", Intent.COMPLIMENT),
        )
    ]


def test_the_latest_posts_intent_puts_its_templates_first(client, agent, default_team, templates):
    conversation = ConversationFactory(team=default_team)
    # A complaint, answered, then praise: the praise is what the agent answers now.
    PostFactory(conversation=conversation, intent=Intent.COMPLAINT)
    PostFactory(conversation=conversation, direction=Direction.OUTBOUND, intent="")
    PostFactory(conversation=conversation, intent=Intent.COMPLIMENT)

    names = [
        (template["name"], template["suggested"])
        for template in offered(client, agent, conversation)
    ]

    assert names == [
        ("Thanks", True),
        ("Apology", False),
        ("Opening hours", False),
        ("Plain hello", False),
    ]


def test_the_picker_marks_the_suggested_template(client, agent, default_team, templates):
    conversation = ConversationFactory(team=default_team)
    PostFactory(conversation=conversation, intent=Intent.QUESTION)
    client.login(username=agent.username, password=AGENT_PASSWORD)

    page = client.get(reverse("conversation", args=[conversation.pk])).content.decode()

    picker = page.split('id="template-picker"')[1].split("</select>")[0]
    assert picker.index("Opening hours · suggested") < picker.index("Apology")
    assert "Thanks · suggested" not in picker


def test_without_a_tagged_post_the_templates_stay_by_name(client, agent, default_team, templates):
    conversation = ConversationFactory(team=default_team)
    PostFactory(conversation=conversation, intent="")  # not triaged yet

    names = [template["name"] for template in offered(client, agent, conversation)]

    assert names == ["Apology", "Opening hours", "Plain hello", "Thanks"]
    assert not any(template["suggested"] for template in offered(client, agent, conversation))
