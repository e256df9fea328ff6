"""What happens to a conversation: a post is triaged, routed and put on the SLA clock; agents
reply, leave notes and move it through its statuses."""

from __future__ import annotations

import re
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from routing.services import auto_assign, route_conversation
from sla.services import (
    conversation_status_changed,
    record_first_response,
    start_response_clocks,
)
from triage.services import triage_post

from . import integrations
from .models import (
    PRIVATE_MESSAGE_CHAR_LIMIT,
    REPLY_CHAR_LIMITS,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    IntegrationEvent,
    Note,
    Post,
)
from .realtime import broadcast_conversation
from .reply_templates import TAKEN_PRIVATE_NOTE, render_text

MENTION = re.compile(r"@([\w.+-]+)")


class StaleConversation(ValidationError):
    """The conversation changed after the agent opened it; they should look before sending."""


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
            .select_related("account", "routed_by", "customer")
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
        newly_routed = conversation.team_id is None
        route_conversation(conversation=conversation, post=post)
        auto_assign(conversation=conversation)
        if conversation.needs_reply:
            start_response_clocks(conversation=conversation, post=post)
        # The customer wrote again: a snoozed conversation wakes up now.
        conversation.snoozed_until = None
        conversation.save()
        if newly_routed:
            integrations.emit(IntegrationEvent.CONVERSATION_CREATED, conversation)
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="post.received")
        )
    return post


def send_reply(
    *,
    conversation_id: int,
    agent: AbstractBaseUser,
    text: str,
    seen_post_id: int | None = None,
    private: bool = False,
) -> Post:
    """Store the agent's reply and queue it for publishing on the platform.

    The first reply stops the first-response clock. `seen_post_id` is the newest post the
    agent had on screen: if a newer one arrived since, StaleConversation is raised and nothing
    is sent, so nobody answers a message they have not read.

    `private` takes the conversation private: `text` goes to the customer as a private message
    and a short public note (TAKEN_PRIVATE_NOTE) answers the public post, so onlookers see the
    brand responded. Both are stored, and sent, together.
    """
    text = text.strip()
    if not text:
        raise ValidationError("A reply needs some text.")
    now = timezone.now()
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("account")
            .get(pk=conversation_id)
        )
        limit = (
            PRIVATE_MESSAGE_CHAR_LIMIT
            if private
            else REPLY_CHAR_LIMITS[conversation.account.platform]
        )
        if len(text) > limit:
            kind = "private messages" if private else "replies"
            raise ValidationError(
                f"{conversation.account.get_platform_display()} {kind} are limited to "
                f"{limit} characters; this one has {len(text)}."
            )
        newest = conversation.posts.order_by("-id").values_list("pk", flat=True).first()
        if seen_post_id is not None and newest is not None and newest > seen_post_id:
            raise StaleConversation(
                "New activity arrived since you opened this conversation. Read it, then send."
            )
        answered = (
            conversation.posts.filter(direction=Direction.INBOUND)
            .order_by("-created_at", "-id")
            .values_list("external_id", flat=True)
            .first()
        )
        outbound = {
            "conversation": conversation,
            "direction": Direction.OUTBOUND,
            "platform": conversation.account.platform,
            "agent": agent,
            "in_reply_to": answered or "",
            "created_at": now,
            "delivery_status": DeliveryStatus.PENDING,
        }
        reply = Post.objects.create(text=text, is_private=private, **outbound)
        sent = [reply]
        if private:
            note = render_text(TAKEN_PRIVATE_NOTE, conversation=conversation, agent=agent)
            sent.append(Post.objects.create(text=note, **outbound))
        record_first_response(conversation, responded_at=now)
        if conversation.status == ConversationStatus.NEW:
            conversation.status = ConversationStatus.OPEN
        if conversation.assignee_id is None:
            conversation.assignee = agent
        conversation.save()
        for post in sent:
            transaction.on_commit(lambda pk=post.pk: _enqueue_delivery(pk))
        transaction.on_commit(lambda: broadcast_conversation(conversation.pk, event="reply.sent"))
    return reply


def change_status(
    *, conversation_id: int, status: str, snooze_until: datetime | None = None
) -> Conversation:
    """Move a conversation to `status`. Resolving stamps the resolution time; snoozing hides
    it from the queue until `snooze_until`."""
    if status not in ConversationStatus.values:
        raise ValidationError(f"Unknown status {status!r}.")
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
        was_resolved = conversation.status == ConversationStatus.RESOLVED
        conversation.status = status
        if status == ConversationStatus.RESOLVED and not was_resolved:
            integrations.emit(IntegrationEvent.CONVERSATION_RESOLVED, conversation)
        if status in (ConversationStatus.RESOLVED, ConversationStatus.CLOSED):
            conversation.resolved_at = conversation.resolved_at or timezone.now()
        else:
            conversation.resolved_at = None
        conversation.snoozed_until = snooze_until
        conversation.save()
        conversation_status_changed(conversation=conversation, at=timezone.now())
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="conversation.status")
        )
    return conversation


def add_note(*, conversation_id: int, author: AbstractBaseUser, text: str) -> Note:
    """A private note; @username mentions of colleagues are recorded for their attention."""
    text = text.strip()
    if not text:
        raise ValidationError("A note needs some text.")
    with transaction.atomic():
        note = Note.objects.create(conversation_id=conversation_id, author=author, text=text)
        handles = set(MENTION.findall(text))
        if handles:
            note.mentions.set(get_user_model().objects.filter(username__in=handles))
    return note


def _enqueue_delivery(post_id: int) -> None:
    from ingestion.tasks import deliver_reply
    from reliability.services import publish

    # The reply is committed; if the broker is down the reliability sweep queues it again.
    publish(deliver_reply, post_id)
