"""Pushing conversation changes to the browsers watching them, over the channel layer."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .selectors import conversation_card

logger = logging.getLogger(__name__)

ALL_CONVERSATIONS_GROUP = "conversations.all"


def team_group(team_id: int) -> str:
    return f"conversations.team.{team_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def broadcast_conversation(conversation_id: int, *, event: str) -> None:
    """Send the conversation's inbox card to its team's agents, to those who see all, and to
    the pages open on it.

    Call it after commit. A channel layer that is down must not fail the caller: the post is
    stored, and the inbox shows it on the next load.
    """
    card = conversation_card(conversation_id)
    message = {"type": "conversation.changed", "event": event, "conversation": card}
    # The conversation's own group reaches the pages that have it open.
    groups = [ALL_CONVERSATIONS_GROUP, conversation_group(conversation_id)]
    if card["team_id"] is not None:
        groups.append(team_group(card["team_id"]))
    layer = get_channel_layer()
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.exception("Could not broadcast conversation %s", conversation_id)
