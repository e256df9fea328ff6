"""What the agent sees of the queue (issue 18, items 6-11): where each reply went, live
notices for mentions and assignments, the Pending and Snoozed views, `n` in the agent's own
list, and one name per person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import ConversationStatus, DeliveryStatus, Platform, Post, Priority
from core.selectors import display_name
from helpdesk import selectors, services
from helpdesk.consumers import ConversationConsumer
from ingestion.models import PlatformAccount
from routing.services import assign_conversation
from tests.factories import AGENT_PASSWORD, AgentFactory, ConversationFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    return client


@pytest.fixture
def broadcasts(monkeypatch):
    sent: list[tuple[list[int], str]] = []
    monkeypatch.setattr(
        "helpdesk.services.broadcast_conversation",
        lambda conversation_id, *, event: sent.append((conversation_id, event)),
    )
    return sent


def waiting(team, **fields):
    conversation = ConversationFactory(team=team, **fields)
    PostFactory(conversation=conversation, text=f"@brand post of {conversation.customer.handle}")
    return conversation


# --- 6. where each reply went ---------------------------------------------------------------


def test_taking_private_labels_the_message_and_the_public_note_apart(
    logged_in, agent, default_team
):
    conversation = waiting(default_team)
    services.send_reply(
        conversation_id=conversation.pk, agent=agent, text="Send us your order number", private=True
    )

    thread = logged_in.get(reverse("conversation_thread", args=[conversation.pk])).content.decode()

    assert thread.count('class="channel-label channel-private">Private message<') == 1
    assert thread.count('class="channel-label channel-note">Public note (taken private)<') == 1
    assert "channel-public" not in thread


def test_a_published_public_reply_links_to_the_post_on_the_platform(logged_in, agent, default_team):
    account = PlatformAccount.objects.create(platform=Platform.TWITTER, handle="brand")
    conversation = ConversationFactory(team=default_team, account=account)
    PostFactory(conversation=conversation)
    reply = services.send_reply(conversation_id=conversation.pk, agent=agent, text="On it")
    Post.objects.filter(pk=reply.pk).update(
        external_id="1790000000000000001", delivery_status=DeliveryStatus.SENT
    )

    thread = logged_in.get(reverse("conversation_thread", args=[conversation.pk])).content.decode()

    assert 'class="channel-label channel-public">Public reply<' in thread
    assert 'href="https://x.com/i/web/status/1790000000000000001"' in thread
    assert "View on X / Twitter" in thread
    assert ">Sent<" in thread


def test_an_unsent_reply_has_no_link_yet(logged_in, agent, default_team):
    conversation = waiting(default_team)
    services.send_reply(conversation_id=conversation.pk, agent=agent, text="On it")

    thread = logged_in.get(reverse("conversation_thread", args=[conversation.pk])).content.decode()

    assert "View on" not in thread
    assert ">Sending<" in thread


# --- 7/8. everything on the page is live; notices reach the person --------------------------


def test_a_note_is_announced_to_the_open_pages(
    agent, default_team, broadcasts, django_capture_on_commit_callbacks
):
    conversation = waiting(default_team)

    with django_capture_on_commit_callbacks(execute=True):
        services.add_note(conversation_id=conversation.pk, author=agent, text="Checking billing")

    assert broadcasts == [(conversation.pk, "note.added")]


def test_a_mention_notifies_the_colleague_not_the_author(
    agent, default_team, notices, django_capture_on_commit_callbacks
):
    colleague = AgentFactory(username="sam", teams=[default_team])
    conversation = waiting(default_team)

    with django_capture_on_commit_callbacks(execute=True):
        services.add_note(
            conversation_id=conversation.pk,
            author=agent,
            text=f"@sam can you check? cc @{agent.username}",
        )

    ((groups, payload),) = notices
    assert groups == [f"sla.user.{colleague.pk}"]
    assert payload["event"] == "mention"
    assert payload["url"] == f"/conversations/{conversation.pk}/"
    assert "mentioned you" in payload["text"] and "can you check?" in payload["text"]


def test_an_assignment_by_a_colleague_notifies_the_assignee(
    agent, default_team, notices, django_capture_on_commit_callbacks
):
    supervisor = AgentFactory(first_name="Sam", last_name="Lee", teams=[default_team])
    conversation = waiting(default_team)

    with django_capture_on_commit_callbacks(execute=True):
        assign_conversation(
            conversation_id=conversation.pk, agent=agent, expected_assignee_id=None, by=supervisor
        )
        assign_conversation(
            conversation_id=conversation.pk, agent=None, expected_assignee_id=agent.pk, by=agent
        )
        assign_conversation(
            conversation_id=conversation.pk, agent=agent, expected_assignee_id=None, by=agent
        )

    ((groups, payload),) = notices
    assert groups == [f"sla.user.{agent.pk}"]
    assert payload["event"] == "assignment"
    assert payload["text"] == f"Sam Lee assigned you conversation #{conversation.pk}."


def test_every_page_listens_for_alerts(logged_in):
    page = logged_in.get(reverse("inbox")).content.decode()

    assert 'id="toasts"' in page
    assert "js/alerts.js" in page


# --- 9. pending and snoozed views -----------------------------------------------------------


def test_snoozed_and_pending_views_list_and_count_theirs(logged_in, default_team):
    wakes_at = timezone.now() + timedelta(hours=3)
    snoozed = waiting(default_team, snoozed_until=wakes_at)
    pending = waiting(default_team, status=ConversationStatus.PENDING)
    waiting(default_team)

    snoozed_view = logged_in.get(reverse("inbox"), {"view": "snoozed"})
    pending_view = logged_in.get(reverse("inbox"), {"view": "pending"})

    assert [c.pk for c in snoozed_view.context["conversations"]] == [snoozed.pk]
    assert f'data-wakes="{wakes_at.isoformat()}"' in snoozed_view.content.decode()
    assert "wakes " in snoozed_view.content.decode()
    assert [c.pk for c in pending_view.context["conversations"]] == [pending.pk]
    counts = {tab["key"]: tab["count"] for tab in pending_view.context["tabs"]}
    assert counts["snoozed"] == 1 and counts["pending"] == 1 and counts["team"] == 2


def test_status_snoozed_is_the_snoozed_view_not_a_400(logged_in, default_team):
    snoozed = waiting(default_team, snoozed_until=timezone.now() + timedelta(hours=1))

    response = logged_in.get(reverse("inbox"), {"status": "snoozed"})

    assert response.status_code == 200
    assert [c.pk for c in response.context["conversations"]] == [snoozed.pk]


def test_the_api_lists_snoozed_conversations(logged_in, default_team):
    snoozed = waiting(default_team, snoozed_until=timezone.now() + timedelta(hours=1))

    response = logged_in.get("/api/conversations/", {"view": "snoozed"})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [snoozed.pk]


def test_views_and_counts_keep_the_query_budget(
    logged_in, default_team, django_assert_max_num_queries
):
    for n in range(20):
        waiting(
            default_team,
            status=ConversationStatus.PENDING if n % 3 == 0 else ConversationStatus.OPEN,
            snoozed_until=timezone.now() + timedelta(hours=1) if n % 5 == 0 else None,
        )
    logged_in.get(reverse("inbox"), {"view": "snoozed"})

    with django_assert_max_num_queries(12):
        response = logged_in.get(reverse("inbox"), {"view": "snoozed"})

    assert len(response.context["conversations"]) == 4


# --- 10. n goes to the next conversation of the agent's list --------------------------------


def test_next_follows_the_view_and_sort_the_agent_last_looked_at(logged_in, agent, default_team):
    low = waiting(default_team, assignee=agent, priority=Priority.LOW)
    urgent = waiting(default_team, assignee=agent, priority=Priority.URGENT)
    high = waiting(default_team, assignee=agent, priority=Priority.HIGH)
    waiting(default_team, priority=Priority.URGENT)  # not mine

    logged_in.get(reverse("inbox"), {"view": "mine", "sort": "priority"})

    assert next_after(logged_in, urgent) == reverse("conversation", args=[high.pk])
    assert next_after(logged_in, high) == reverse("conversation", args=[low.pk])
    assert next_after(logged_in, low) == reverse("conversation", args=[urgent.pk])


def next_after(client, conversation) -> str:
    """Where `n` on the conversation's page leads (the page links to it; it redirects)."""
    page = client.get(reverse("conversation", args=[conversation.pk])).content.decode()
    link = reverse("conversation_next", args=[conversation.pk])
    assert f'data-next-url="{link}"' in page
    response = client.get(link)
    assert response.status_code == 302
    return response.url


def test_next_without_an_inbox_visit_follows_the_queue(logged_in, default_team):
    older = waiting(default_team)
    newer = waiting(default_team)
    Post.objects.filter(conversation=older).update(created_at=timezone.now() - timedelta(hours=1))

    assert next_after(logged_in, older) == reverse("conversation", args=[newer.pk])


def test_next_from_the_last_conversation_of_the_list_goes_back_to_the_list(
    logged_in, agent, default_team
):
    only = waiting(default_team, assignee=agent)
    waiting(default_team)  # not mine

    logged_in.get(reverse("inbox"), {"view": "mine"})

    assert next_after(logged_in, only) == reverse("inbox") + "?view=mine"


# --- 11. one person, one name ---------------------------------------------------------------


def test_the_display_name_is_used_everywhere(logged_in, agent, default_team):
    agent.first_name, agent.last_name = "Dana", "Reyes"
    agent.save()
    conversation = waiting(default_team, assignee=agent)
    services.send_reply(conversation_id=conversation.pk, agent=agent, text="On it")
    services.add_note(conversation_id=conversation.pk, author=agent, text="Looking")

    page = logged_in.get(reverse("conversation", args=[conversation.pk])).content.decode()
    inbox = logged_in.get(reverse("inbox")).content.decode()

    assert f">{agent.username}<" not in page
    assert page.count("Dana Reyes") >= 4  # top bar, thread, note, assignee, dropdown
    assert '<td class="assignee">Dana Reyes</td>' in inbox
    assert selectors.conversation_cards([conversation.pk])[0]["assignee"] == "Dana Reyes"


def test_without_a_name_the_username_is_shown(default_team):
    nameless = AgentFactory(username="sam", teams=[default_team])

    assert display_name(nameless) == "sam"


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_presence_uses_the_display_name(default_team):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    dana = await database_sync_to_async(AgentFactory)(first_name="Dana", teams=[default_team])
    conversation = await database_sync_to_async(waiting)(default_team)
    communicator = WebsocketCommunicator(
        ConversationConsumer.as_asgi(), f"/ws/conversations/{conversation.pk}/"
    )
    communicator.scope["user"] = dana
    communicator.scope["url_route"] = {"kwargs": {"conversation_id": conversation.pk}}
    connected, _ = await communicator.connect()
    assert connected
    consumer_name = None
    try:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(f"conversation.{conversation.pk}", channel)
        await communicator.send_json_to({"type": "typing"})
        message = await layer.receive(channel)
        consumer_name = message["agent"]["name"]
    finally:
        await communicator.disconnect()
    assert consumer_name == "Dana"
