import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError

from core.admin import ReplyTemplateForm
from core.models import (
    ConversationStatus,
    Direction,
    Platform,
    Post,
    ReplyTemplate,
    ReplyTemplateVariant,
)
from core.reply_templates import render_reply_template
from helpdesk.services import StaleConversation, add_note, change_status, send_reply
from ingestion.models import PlatformAccount
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(default_team):
    conversation = ConversationFactory(
        team=default_team, customer=CustomerFactory(display_name="Maria Lopez", handle="maria")
    )
    PostFactory(conversation=conversation)
    return conversation


def test_template_variables_are_filled_in(conversation, agent):
    agent.first_name = "Dana"
    template = ReplyTemplate.objects.create(
        name="Sorry", body="Hi {{ customer.first_name }}, sorry about that! ^{{ agent.first_name }}"
    )

    text = render_reply_template(template, conversation=conversation, agent=agent)

    assert text == "Hi Maria, sorry about that! ^Dana"


def test_platform_variant_replaces_the_default_body(conversation, agent):
    template = ReplyTemplate.objects.create(name="Thanks", body="Dear {{ customer.name }}, thanks.")
    twitter = PlatformAccount.objects.create(platform=Platform.TWITTER, handle="acme")
    ReplyTemplateVariant.objects.create(
        template=template, platform=Platform.TWITTER, body="Thanks {{ customer.handle }}! 🙌"
    )
    on_twitter = ConversationFactory(account=twitter, customer=conversation.customer)

    assert render_reply_template(template, conversation=on_twitter, agent=agent) == (
        "Thanks @maria! 🙌"
    )
    assert render_reply_template(template, conversation=conversation, agent=agent) == (
        "Dear Maria Lopez, thanks."
    )


def test_customer_text_in_variables_is_not_html_escaped(conversation, agent):
    conversation.customer.display_name = "Tom & Jerry's"
    template = ReplyTemplate.objects.create(name="x", body="Hi {{ customer.name }}")

    assert render_reply_template(template, conversation=conversation, agent=agent) == (
        "Hi Tom & Jerry's"
    )


def test_admin_rejects_a_template_with_broken_syntax():
    form = ReplyTemplateForm(data={"name": "Broken", "body": "{% if customer.name %}Hi"})

    assert not form.is_valid()
    assert "Template error" in form.errors["body"][0]
    assert ReplyTemplate in site._registry


def test_reply_over_the_platform_limit_is_refused(conversation, agent):
    with pytest.raises(ValidationError, match="limited to 280 characters; this one counts 281"):
        send_reply(conversation_id=conversation.pk, agent=agent, text="x" * 281)

    assert not Post.objects.filter(direction=Direction.OUTBOUND).exists()


def test_a_reply_on_x_is_counted_as_x_counts_it(default_team, agent):
    account = PlatformAccount.objects.create(platform="twitter", handle="acme", external_id="15")
    conversation = ConversationFactory(team=default_team, account=account)
    PostFactory(conversation=conversation)
    # 372 characters, but X counts the link as 23: 75 in all.
    link = "https://example.com/" + "track/" * 50
    with_link = f"Here is where your parcel is: {link} — sorry for the wait!"

    sent = send_reply(conversation_id=conversation.pk, agent=agent, text=with_link)

    assert sent.text == with_link
    # 150 Japanese characters count double on X: 300, over its 280.
    with pytest.raises(ValidationError, match="limited to 280 characters; this one counts 300"):
        send_reply(conversation_id=conversation.pk, agent=agent, text="日" * 150)


def test_reply_on_a_conversation_that_changed_since_opened_asks_to_look(conversation, agent):
    seen = conversation.posts.get().pk
    PostFactory(conversation=conversation, text="@brand actually, never mind")

    with pytest.raises(StaleConversation):
        send_reply(conversation_id=conversation.pk, agent=agent, text="OK!", seen_post_id=seen)

    assert not Post.objects.filter(direction=Direction.OUTBOUND).exists()


def test_resolving_stamps_the_time_and_reopening_clears_it(conversation):
    resolved = change_status(conversation_id=conversation.pk, status=ConversationStatus.RESOLVED)
    assert resolved.resolved_at is not None

    reopened = change_status(conversation_id=conversation.pk, status=ConversationStatus.OPEN)
    assert reopened.resolved_at is None


def test_unknown_status_is_refused(conversation):
    with pytest.raises(ValidationError, match="Unknown status 'archived'"):
        change_status(conversation_id=conversation.pk, status="archived")


def test_note_records_mentioned_colleagues(conversation, agent):
    colleague = AgentFactory(username="sam")

    note = add_note(
        conversation_id=conversation.pk, author=agent, text="@sam can you check the refund?"
    )

    assert list(note.mentions.all()) == [colleague]
    assert not Post.objects.filter(direction=Direction.OUTBOUND).exists()
