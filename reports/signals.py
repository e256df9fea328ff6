"""Keeps the reports' derived rows in step with the posts they are derived from, whichever
app writes the post (ingestion, agents' replies, auto-replies, out-of-hours notes, surveys)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from helpdesk.models import Conversation, Post

from .services import record_customer_turns

# A save touching none of these cannot change the conversation's turns (triage, delivery).
TURN_FIELDS = frozenset({"conversation", "conversation_id", "direction", "created_at"})


@receiver(post_save, sender=Post, dispatch_uid="reports.post_saved")
def post_saved(
    sender: type[Post], instance: Post, raw: bool = False, update_fields=None, **kwargs: Any
) -> None:
    if raw or (update_fields is not None and not TURN_FIELDS & set(update_fields)):
        return
    record_customer_turns(conversation_id=instance.conversation_id)


@receiver(post_delete, sender=Post, dispatch_uid="reports.post_deleted")
def post_deleted(sender: type[Post], instance: Post, origin: Any = None, **kwargs: Any) -> None:
    # Deleting the conversation takes its turns with it; nothing to recompute.
    if isinstance(origin, Conversation) or getattr(origin, "model", None) is Conversation:
        return
    record_customer_turns(conversation_id=instance.conversation_id)
