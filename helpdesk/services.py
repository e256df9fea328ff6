"""What happens to a conversation: a post is triaged, routed and put on the SLA clock; an
agent replies."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from routing.services import route_conversation
from sla.services import record_first_response, start_first_response_clock
from triage.services import triage_post

from .models import Conversation, ConversationStatus, DeliveryStatus, Direction, Post
from .realtime import broadcast_conversation


def process_inbound_post(*, post_id: int) -> Post:
    """Triage a stored inbound post, route its conversation and start its SLA clock.

    Safe to run twice: a post already triaged is left as it is.
    """
    with transaction.atomic():
        post = Post.objects.select_related("customer").get(pk=post_id)
        # Lock only the conversation row: Postgres refuses FOR UPDATE on the nullable side of
        # the outer join that select_related("routed_by") adds.
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("account", "routed_by")
            .get(pk=post.conversation_id)
        )
        if post.intent:
            return post
        triage_post(post)
        post.save(
            update_fields=["intent", "sentiment", "priority", "triage_confidence", "triage_reasons"]
        )
        conversation.intent = post.intent
        conversation.sentiment = post.sentiment
        conversation.priority = max(conversation.priority, post.priority)
        route_conversation(conversation=conversation, post=post)
        start_first_response_clock(conversation)
        conversation.save()
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="post.received")
        )
    return post


def send_reply(*, conversation_id: int, agent: AbstractBaseUser, text: str) -> Post:
    """Store the agent's public reply and queue it for publishing on the platform.

    The first reply stops the first-response clock.
    """
    text = text.strip()
    if not text:
        raise ValidationError("A reply needs some text.")
    now = timezone.now()
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update()
            .select_related("account")
            .get(pk=conversation_id)
        )
        answered = (
            conversation.posts.filter(direction=Direction.INBOUND)
            .order_by("-created_at", "-id")
            .values_list("external_id", flat=True)
            .first()
        )
        reply = Post.objects.create(
            conversation=conversation,
            direction=Direction.OUTBOUND,
            platform=conversation.account.platform,
            agent=agent,
            text=text,
            in_reply_to=answered or "",
            created_at=now,
            delivery_status=DeliveryStatus.PENDING,
        )
        record_first_response(conversation, responded_at=now)
        if conversation.status == ConversationStatus.NEW:
            conversation.status = ConversationStatus.OPEN
        if conversation.assignee_id is None:
            conversation.assignee = agent
        conversation.save()
        transaction.on_commit(lambda: _enqueue_delivery(reply.pk))
        transaction.on_commit(lambda: broadcast_conversation(conversation.pk, event="reply.sent"))
    return reply


def _enqueue_delivery(post_id: int) -> None:
    from ingestion.tasks import deliver_reply

    deliver_reply.delay(post_id)
