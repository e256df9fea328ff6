"""Pushing conversation changes to the browsers watching them, over the channel layer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .selectors import conversation_cards

logger = logging.getLogger(__name__)

ALL_CONVERSATIONS_GROUP = "conversations.all"


def team_group(team_id: int) -> str:
    return f"conversations.team.{team_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def broadcast_conversation(conversation_id: int, *, event: str) -> None:
    """Send the conversation's inbox card to those watching it (see broadcast_conversations)."""
    broadcast_conversations([conversation_id], event=event)


def broadcast_conversations(conversation_ids: Sequence[int], *, event: str) -> None:
    """Send the conversations' inbox cards to their teams' agents, to those who see all, and
    to the pages open on each.

    An inbox group gets one message for the whole batch, not one per conversation: in a storm
    each message is copied to every agent's socket, so this is what keeps the channel layer's
    work proportional to batches, not posts.

    Call it after commit. A channel layer that is down must not fail the caller: the posts
    are stored, and the inbox shows them on the next load.
    """
    cards = conversation_cards(conversation_ids)
    inbox_cards: dict[str, list[dict]] = {}
    messages = []
    for card in cards:
        inbox_cards.setdefault(ALL_CONVERSATIONS_GROUP, []).append(card)
        if card["team_id"] is not None:
            inbox_cards.setdefault(team_group(card["team_id"]), []).append(card)
        # The conversation's own group reaches the pages that have it open.
        messages.append(
            (
                conversation_group(card["id"]),
                {"type": "conversation.changed", "event": event, "conversation": card},
            )
        )
    messages += [
        (group, {"type": "conversations.changed", "event": event, "conversations": group_cards})
        for group, group_cards in inbox_cards.items()
    ]
    try:
        async_to_sync(_send)(get_channel_layer(), messages)
    except Exception:
        logger.exception("Could not broadcast conversations %s", list(conversation_ids))


async def _send(layer, messages: list[tuple[str, dict]]) -> None:
    # Concurrently: the layer pipelines them over its connections instead of waiting for
    # each group's round trips in turn.
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group, message in messages),
        return_exceptions=True,
    )
    failures = [result for result in results if isinstance(result, Exception)]
    if failures:
        raise failures[0]
