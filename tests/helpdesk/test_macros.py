"""Macros (issue 18, item 15): one click puts a template in the composer and sets the tag,
priority, assignee and status, in one transaction, with a note of who ran it."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from core.models import ConversationStatus, Priority, ReplyTemplate
from helpdesk.models import Macro, MacroAssign
from tests.factories import AGENT_PASSWORD, ConversationFactory, PostFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    return client


@pytest.fixture
def refund_macro(default_team):
    template = ReplyTemplate.objects.create(
        name="Refund on its way", body="Hi {{ customer.first_name }}, your refund is on its way."
    )
    return Macro.objects.create(
        name="Refund issued",
        team=default_team,
        template=template,
        add_tag="refund",
        set_priority=Priority.HIGH,
        set_status=ConversationStatus.PENDING,
        assign=MacroAssign.ME,
    )


@pytest.fixture
def conversation(default_team):
    conversation = ConversationFactory(team=default_team, customer__display_name="Maria Lopez")
    PostFactory(conversation=conversation, text="@brand where is my refund?")
    return conversation


def test_a_macro_sets_everything_and_leaves_its_template_in_the_composer(
    logged_in, agent, conversation, refund_macro
):
    response = logged_in.post(
        reverse("conversation_macro", args=[conversation.pk, refund_macro.pk]), follow=True
    )

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.PENDING
    assert conversation.priority == Priority.HIGH
    assert conversation.assignee == agent
    assert list(conversation.tags.values_list("name", flat=True)) == ["refund"]
    page = response.content.decode()
    assert "Hi Maria, your refund is on its way.</textarea>" in page
    assert "Macro: tagged “refund”, priority High" in page
    note = conversation.notes.get()
    assert note.author == agent and note.text.startswith("Ran the macro “Refund issued”")
    changes = LogEntry.objects.filter(
        content_type__model="conversation",
        object_pk=str(conversation.pk),
        action=LogEntry.Action.UPDATE,
    )
    assert changes.count() >= 3  # priority, assignee, status


def test_the_draft_is_offered_once(logged_in, conversation, refund_macro):
    logged_in.post(reverse("conversation_macro", args=[conversation.pk, refund_macro.pk]))
    logged_in.get(reverse("conversation", args=[conversation.pk]))

    again = logged_in.get(reverse("conversation", args=[conversation.pk])).content.decode()

    assert "your refund is on its way.</textarea>" not in again


def test_another_teams_macro_is_refused_and_changes_nothing(logged_in, conversation):
    elsewhere = Macro.objects.create(
        name="Escalate", team=TeamFactory(), set_priority=Priority.URGENT
    )

    response = logged_in.post(reverse("conversation_macro", args=[conversation.pk, elsewhere.pk]))

    assert response.status_code == 400
    assert "is for another team" in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.priority == Priority.NORMAL
    assert not conversation.notes.exists()


def test_the_conversation_page_offers_its_teams_macros(logged_in, conversation, refund_macro):
    Macro.objects.create(name="Other team's", team=TeamFactory())

    page = logged_in.get(reverse("conversation", args=[conversation.pk])).content.decode()

    assert f'<option value="{refund_macro.pk}">Refund issued</option>' in page
    assert "Other team&#x27;s" not in page and "Other team's" not in page


def test_an_unknown_macro_is_a_404(logged_in, conversation):
    response = logged_in.post(reverse("conversation_macro", args=[conversation.pk, 999]))

    assert response.status_code == 404
