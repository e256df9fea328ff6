from datetime import timedelta

import pytest
from django.urls import reverse

from core.models import ConversationStatus, DeliveryStatus, Direction, Post
from tests.factories import AGENT_PASSWORD, AgentFactory, ConversationFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting_post(default_team):
    conversation = ConversationFactory(team=default_team)
    return PostFactory(conversation=conversation, external_id="in-1")


def test_agent_reply_is_published_and_records_the_first_response(
    client, agent, waiting_post, django_capture_on_commit_callbacks
):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    url = reverse("conversation", args=[waiting_post.conversation_id])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"text": "  Sorry about that! DM us your order number.  "})

    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Sorry about that! DM us your order number." in page
    assert "s after the first post" in page
    reply = Post.objects.get(direction=Direction.OUTBOUND)
    assert reply.text == "Sorry about that! DM us your order number."
    assert reply.in_reply_to == "in-1"
    assert reply.delivery_status == DeliveryStatus.SENT
    assert reply.external_id.startswith("demo-reply-")
    conversation = reply.conversation
    assert conversation.first_response_at == reply.created_at
    assert conversation.status == ConversationStatus.OPEN
    assert conversation.assignee == agent


def test_second_reply_keeps_the_first_response_time(client, agent, waiting_post):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    url = reverse("conversation", args=[waiting_post.conversation_id])
    client.post(url, {"text": "First"})
    waiting_post.conversation.refresh_from_db()
    first_response_at = waiting_post.conversation.first_response_at

    client.post(url, {"text": "Second"})

    waiting_post.conversation.refresh_from_db()
    assert waiting_post.conversation.first_response_at == first_response_at
    assert Post.objects.filter(direction=Direction.OUTBOUND).count() == 2


def test_blank_reply_is_a_form_error_and_sends_nothing(client, agent, waiting_post):
    client.login(username=agent.username, password=AGENT_PASSWORD)

    response = client.post(
        reverse("conversation", args=[waiting_post.conversation_id]), {"text": "   "}
    )

    assert response.status_code == 400
    assert "A reply needs some text." in response.content.decode()
    assert not Post.objects.filter(direction=Direction.OUTBOUND).exists()
    waiting_post.conversation.refresh_from_db()
    assert waiting_post.conversation.first_response_at is None


def test_agent_cannot_open_or_reply_to_another_teams_conversation(client, waiting_post):
    outsider = AgentFactory(teams=[])
    client.login(username=outsider.username, password=AGENT_PASSWORD)
    url = reverse("conversation", args=[waiting_post.conversation_id])

    assert client.get(url).status_code == 404
    assert client.post(url, {"text": "hi"}).status_code == 404
    assert not Post.objects.filter(direction=Direction.OUTBOUND).exists()


def test_pages_require_login(client, waiting_post):
    response = client.get(reverse("inbox"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_taking_a_conversation_private_sends_a_dm_and_a_public_note(
    client, agent, waiting_post, django_capture_on_commit_callbacks
):
    agent.first_name = "Dana"
    agent.save()
    client.force_login(agent)
    url = reverse("conversation", args=[waiting_post.conversation_id])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"text": "Please send us your order number here.", "channel": "private"})

    private, public = Post.objects.filter(direction=Direction.OUTBOUND).order_by("id")
    assert private.is_private and private.text == "Please send us your order number here."
    assert private.external_id.startswith("demo-message-")
    assert not public.is_private
    assert "we've sent you a private message" in public.text
    assert public.text.endswith("^Dana")
    assert public.external_id.startswith("demo-reply-")
    assert public.in_reply_to == private.in_reply_to == "in-1"


def test_the_first_response_time_reads_as_people_say_it(client, agent, waiting_post):
    conversation = waiting_post.conversation
    conversation.first_response_at = conversation.created_at + timedelta(minutes=10, seconds=9)
    conversation.save(update_fields=["first_response_at"])
    client.login(username=agent.username, password=AGENT_PASSWORD)
    url = reverse("conversation", args=[conversation.pk])

    assert "10 min after the first post" in client.get(url).content.decode()
    conversation.first_response_at = conversation.created_at + timedelta(hours=26, minutes=5)
    conversation.save(update_fields=["first_response_at"])
    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "1 j 2 h après le premier message" in french
