"""One template syntax for every message to a customer, checked when it is written."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.models import AgentPreferences, ReplyTemplate
from core.reply_templates import (
    CSAT_VARIABLES,
    OUT_OF_HOURS_VARIABLES,
    check_template,
    preview,
    render_text,
    unknown_variables,
)
from tests.factories import ConversationFactory, CustomerFactory, UserFactory


def test_an_unknown_variable_is_refused_with_the_ones_available():
    with pytest.raises(ValidationError) as refused:
        check_template("Hi {{ customer.firstname }}, thanks!")

    message = refused.value.messages[0]
    assert "Unknown variable {{ customer.firstname }}" in message
    assert "{{ customer.first_name }}" in message and "{{ agent.first_name }}" in message


@pytest.mark.parametrize(
    "body",
    [
        "{% if customer.vip %}VIP{% endif %}",
        "{{ customer.name|default:customer.nick }}",
        "{% for word in customer.names %}{{ word }}{% endfor %}",
    ],
)
def test_unknown_variables_in_tags_and_filters_are_refused_too(body):
    with pytest.raises(ValidationError, match="Unknown variable"):
        check_template(body)


def test_each_kind_of_message_offers_its_own_variables():
    check_template("Back {{ back_at }}, {{ customer.handle }}", OUT_OF_HOURS_VARIABLES)
    check_template("How did we do? {{ survey_link }}", CSAT_VARIABLES)
    with pytest.raises(ValidationError, match=r"\{\{ back_at \}\}"):
        check_template("Back {{ back_at }}")  # a reply has no back_at
    with pytest.raises(ValidationError, match=r"\{\{ agent.first_name \}\}"):
        check_template("^{{ agent.first_name }}", OUT_OF_HOURS_VARIABLES)  # nobody wrote it


def test_a_syntax_error_is_refused():
    with pytest.raises(ValidationError, match="Template error"):
        check_template("Hi {% if %}")


def test_render_fills_a_real_conversation(db):
    customer = CustomerFactory(handle="maria_g", display_name="Maria Garcia")
    conversation = ConversationFactory(customer=customer, account__handle="brand")
    agent = UserFactory(first_name="Dana")

    text = render_text(
        "Hi {{ customer.first_name }} ({{ customer.handle }}), {{ brand.handle }} here. "
        "^{{ agent.first_name }}",
        conversation=conversation,
        agent=agent,
    )

    assert text == "Hi Maria (@maria_g), @brand here. ^Dana"


def test_preview_fills_a_sample_conversation():
    assert preview("Hi {{ customer.first_name }}, thanks!") == "Hi Maria, thanks!"
    assert preview("{{ survey_link }}", variables=CSAT_VARIABLES).startswith("https://")


@pytest.fixture
def admin_client(client, db):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def test_the_admin_form_lists_the_variables_and_refuses_an_unknown_one(admin_client):
    add = reverse("admin:core_replytemplate_add")

    page = admin_client.get(add).content.decode()
    response = admin_client.post(
        add,
        {
            "name": "Thanks",
            "body": "Hi {{ customer.firstname }}, thanks!",
            "variants-TOTAL_FORMS": "0",
            "variants-INITIAL_FORMS": "0",
        },
    )

    assert "{{ customer.first_name }}" in page and "template-preview" in page
    assert response.status_code == 200
    assert "Unknown variable {{ customer.firstname }}" in response.content.decode()
    assert not ReplyTemplate.objects.exists()


def test_the_admin_preview_answers_with_the_text_or_the_error(admin_client):
    url = reverse("admin:core_replytemplate_preview")

    good = admin_client.post(url, {"body": "Hi {{ customer.first_name }}! ^{{ agent.name }}"})
    bad = admin_client.post(url, {"body": "Hi {{ customer.firstname }}"})

    assert good.status_code == 200 and good.json() == {"text": "Hi Maria! ^root"}
    assert bad.status_code == 400 and "Unknown variable" in bad.json()["error"]


def test_unknown_variables_are_listed_in_order_of_appearance():
    assert unknown_variables("{{ b.x }} {{ customer.name }} {{ a.y }} {{ b.x }}") == ["b.x", "a.y"]
    assert unknown_variables("{% if %}") == []


def test_the_agents_signature_from_their_profile(db):
    conversation = ConversationFactory()
    agent = UserFactory(first_name="Dana")
    AgentPreferences.objects.create(user=agent, signature="^DS")

    assert render_text("Done! {{ agent.signature }}", conversation=conversation, agent=agent) == (
        "Done! ^DS"
    )
