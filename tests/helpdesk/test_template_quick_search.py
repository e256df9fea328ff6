"""Reply templates an agent can trust (issue 18, item 16): a variable Parley does not fill is
refused in the template form and flagged in the composer's preview, never sent as "Hi , "."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from core.admin import ReplyTemplateForm, ReplyTemplateVariantForm
from core.models import Platform, ReplyTemplate
from core.reply_templates import unknown_variables
from tests.factories import AGENT_PASSWORD, ConversationFactory, PostFactory

pytestmark = pytest.mark.django_db


def test_the_template_form_refuses_an_unknown_variable_and_names_it():
    form = ReplyTemplateForm(data={"name": "Thanks", "body": "Hi {{ customer.nam }}, thanks!"})

    assert not form.is_valid()
    assert "Unknown variable {{ customer.nam }}" in form.errors["body"][0]
    assert "{{ customer.name }}" in form.errors["body"][0]


def test_the_variant_form_refuses_one_too():
    form = ReplyTemplateVariantForm(data={"platform": Platform.TWITTER, "body": "{{ agent.nick }}"})

    assert not form.is_valid()
    assert "Unknown variable {{ agent.nick }}" in form.errors["body"][0]


def test_known_variables_pass():
    body = (
        "Hi {{ customer.first_name }} ({{ customer.handle }}), "
        "{{ agent.name }} at {{ brand.handle }}"
    )
    form = ReplyTemplateForm(data={"name": "Hello", "body": body})

    assert form.is_valid(), form.errors
    assert unknown_variables(body) == []


def test_the_composer_flags_a_stored_template_with_an_unknown_variable(client, agent, default_team):
    # Saved before the check existed (or straight into the database).
    ReplyTemplate.objects.create(name="Old thanks", body="Hi {{ customer.nam }}, thanks!")
    ReplyTemplate.objects.create(name="Good thanks", body="Hi {{ customer.first_name }}, thanks!")
    conversation = ConversationFactory(team=default_team, customer__display_name="Maria Lopez")
    PostFactory(conversation=conversation)
    client.login(username=agent.username, password=AGENT_PASSWORD)

    page = client.get(reverse("conversation", args=[conversation.pk])).content.decode()

    data = page.split('<script id="reply-templates" type="application/json">')[1].split(
        "</script>"
    )[0]
    offered = {template["name"]: template for template in json.loads(data)}
    assert offered["Old thanks"]["unknown"] == ["customer.nam"]
    assert offered["Good thanks"]["unknown"] == []
    assert offered["Good thanks"]["text"] == "Hi Maria, thanks!"
