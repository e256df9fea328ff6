"""What agents do to a conversation: reply (publicly or privately), leave notes, move it
through its statuses; and snoozed conversations waking up."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import integrations
from core.models import (
    PRIVATE_MESSAGE_CHAR_LIMIT,
    REPLY_CHAR_LIMITS,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    IntegrationEvent,
    Note,
    Post,
    reply_length,
)
from core.outbox import deliver_after_commit
from core.realtime import broadcast_conversation, broadcast_conversations
from core.reply_templates import TAKEN_PRIVATE_NOTE, render_text
from sla.services import conversation_status_changed, record_first_response

MENTION = re.compile(r"@([\w.+-]+)")


class StaleConversation(ValidationError):
    """The conversation changed after the agent opened it; they should look before sending."""


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
        platform = conversation.account.platform
        if private:
            limit, length = PRIVATE_MESSAGE_CHAR_LIMIT, len(text)
        else:
            limit, length = REPLY_CHAR_LIMITS[platform], reply_length(platform, text)
        if length > limit:
            kind = "private messages" if private else "replies"
            raise ValidationError(
                f"{conversation.account.get_platform_display()} {kind} are limited to "
                f"{limit} characters; this one counts {length}."
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
            deliver_after_commit(post.pk)
        transaction.on_commit(lambda: broadcast_conversation(conversation.pk, event="reply.sent"))
    return reply


def change_status(
    *, conversation_id: int, status: str, snooze_until: datetime | None = None
) -> Conversation:
    """Move a conversation to `status`. Resolving stamps the resolution time; snoozing hides
    it from the queue until `snooze_until`, at most SNOOZE_MAX_DAYS ahead (the audit log
    records who snoozed it until when)."""
    if status not in ConversationStatus.values:
        raise ValidationError(f"Unknown status {status!r}.")
    longest = timedelta(days=settings.SNOOZE_MAX_DAYS)
    if snooze_until is not None and snooze_until > timezone.now() + longest:
        raise ValidationError(
            f"A conversation can be snoozed for {settings.SNOOZE_MAX_DAYS} days at most."
        )
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


def wake_snoozed_conversations(*, now: datetime) -> list[int]:
    """Bring back the conversations whose snooze has ended: the snooze is cleared and the
    inboxes hear of them, so they reappear live rather than on the next page load. Returns
    their ids; a beat task runs this every SNOOZE_WAKE_SECONDS."""
    with transaction.atomic():
        woken = list(
            Conversation.objects.select_for_update(skip_locked=True)
            .filter(snoozed_until__lte=now)
            .order_by("pk")
            .values_list("pk", flat=True)[:WAKE_BATCH]
        )
        if not woken:
            return []
        Conversation.objects.filter(pk__in=woken).update(snoozed_until=None, updated_at=now)
        transaction.on_commit(lambda: broadcast_conversations(woken, event="conversation.woke"))
    return woken


# Woken per run at most; the next run takes the rest.
WAKE_BATCH = 500


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
