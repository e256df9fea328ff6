"""Tags agents add and remove on a conversation (issue 18, item 14), usable as an inbox filter."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.models import Tag
from tests.factories import AGENT_PASSWORD, ConversationFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    return client


@pytest.fixture
def conversation(default_team):
    conversation = ConversationFactory(team=default_team)
    PostFactory(conversation=conversation)
    return conversation


def test_an_agent_adds_and_removes_a_tag(logged_in, agent, conversation):
    logged_in.post(reverse("conversation_tags", args=[conversation.pk]), {"add": "vip"})
    page = logged_in.get(reverse("conversation", args=[conversation.pk])).content.decode()
    assert '<span class="tag label">vip <button type="submit" name="remove" value="vip"' in page

    logged_in.post(reverse("conversation_tags", args=[conversation.pk]), {"remove": "vip"})

    assert not conversation.tags.exists()
    assert Tag.objects.filter(name="vip").exists()  # others may use it
    assert [note.text for note in conversation.notes.order_by("id")] == [
        "Tagged “vip”.",
        "Removed the tag “vip”.",
    ]


def test_removing_a_tag_the_conversation_lacks_says_so(logged_in, conversation):
    response = logged_in.post(
        reverse("conversation_tags", args=[conversation.pk]), {"remove": "nope"}
    )

    assert response.status_code == 400
    assert "This conversation has no tag “nope”." in response.content.decode()


def test_the_inbox_filters_by_tag(logged_in, default_team, conversation):
    other = ConversationFactory(team=default_team)
    PostFactory(conversation=other)
    conversation.tags.add(Tag.objects.create(name="Refund"))

    response = logged_in.get(reverse("inbox"), {"tag": "refund"})

    assert [c.pk for c in response.context["conversations"]] == [conversation.pk]
    api = logged_in.get("/api/conversations/", {"tag": "refund"}).json()
    assert [row["id"] for row in api["results"]] == [conversation.pk]
