"""Pushing conversation changes to the browsers watching them, over the channel layer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_guid import get_guid

logger = logging.getLogger(__name__)

CardReader = Callable[[Sequence[int]], list[dict[str, Any]]]
# What a conversation looks like in the inbox is the agents' UI's business (helpdesk), which
# stands above every stage that broadcasts; it registers its reader at start-up.
_card_reader: CardReader | None = None


def register_card_reader(reader: CardReader) -> None:
    """Set the function that reads the inbox cards of conversations (helpdesk.apps)."""
    global _card_reader
    _card_reader = reader


ALL_CONVERSATIONS_GROUP = "conversations.all"
# Every open conversation page listens here for the ids of the conversations that changed.
CONVERSATION_PAGES_GROUP = "conversations.pages"


def team_group(team_id: int) -> str:
    return f"conversations.team.{team_id}"


def user_sockets_group(user_id: int) -> str:
    """Every socket a user has open, whatever it listens to: how access changes reach them."""
    return f"user.{user_id}.sockets"


def close_user_sockets(user_id: int, *, session_key: str = "") -> None:
    """Close the user's open sockets, or only those opened by one session (a logout).

    A socket's groups are chosen when it connects; when what the user may see changes, the
    sockets close and the pages reconnect, so the new ones are checked and grouped anew (a
    logged-out or deactivated user's are then refused). Call after commit. A channel layer
    that is down must not fail the caller: it carries no event to the sockets then either.
    """
    message = {"type": "sockets.revoke", "session_key": session_key}
    try:
        async_to_sync(get_channel_layer().group_send)(user_sockets_group(user_id), message)
    except Exception:
        logger.exception("Could not close the sockets of user %s", user_id)


def conversation_group(conversation_id: int) -> str:
    """The pages open on one conversation, for presence (who is viewing, who is typing)."""
    return f"conversation.{conversation_id}"


def user_group(user_id: int) -> str:
    """One person's sockets (/ws/sla/): SLA alerts on their conversations, and notices meant
    for them alone (a mention, an assignment, a customer back on their conversation)."""
    return f"sla.user.{user_id}"


def current_request_id() -> str | None:
    """The id of the request (or of the request that queued the task) doing the change,
    django-guid's: every channel-layer message carries it as `request_id`, and the sockets
    pass it on to the browser, so a webhook's X-Request-ID can be followed to the push."""
    return get_guid()


def notice(kind: str, conversation, *, text: str, **extra) -> dict:
    """A notice for one person's browser: `kind` says what happened ("mention",
    "assignment", "conversation.reopened"), `text` says it in words; `alert_id` lets a
    browser that hears it twice show it once."""
    return {
        "alert_id": f"{kind}:{conversation.pk}:{extra.pop('key', '')}",
        "event": kind,
        "conversation_id": conversation.pk,
        "text": text,
        "url": f"/conversations/{conversation.pk}/",
        **extra,
    }


def notify_users_after_commit(user_ids, payload: dict) -> None:
    """Send `payload` to these people's sockets once the caller's transaction commits."""
    groups = [user_group(user_id) for user_id in sorted(set(user_ids))]
    if not groups:
        return
    transaction.on_commit(lambda: _notify(groups, payload))


def _notify(groups: list[str], payload: dict) -> None:
    message = {"type": "sla.alert", "alert": payload, "request_id": current_request_id()}
    try:
        async_to_sync(_send)(get_channel_layer(), [(group, message) for group in groups])
    except Exception:
        logger.exception("Could not notify %s of %s", groups, payload["event"])


def broadcast_conversation(
    conversation_id: int, *, event: str, left_team_id: int | None = None
) -> None:
    """Send the conversation's inbox card to those watching it (see broadcast_conversations);
    `left_team_id`: the team it was just moved out of."""
    left = {conversation_id: left_team_id} if left_team_id is not None else None
    broadcast_conversations([conversation_id], event=event, left_teams=left)


def teams_left(
    teams_before: Mapping[int, int | None], conversations: Iterable[Any]
) -> dict[int, int]:
    """{conversation id: the team it was in} for those of `conversations` (with `pk` and
    `team_id`) whose team is no longer the one `teams_before` names: what
    broadcast_conversations needs to tell the teams they left."""
    return {
        conversation.pk: teams_before[conversation.pk]
        for conversation in conversations
        if teams_before.get(conversation.pk) not in (None, conversation.team_id)
    }


def broadcast_conversations(
    conversation_ids: Sequence[int],
    *,
    event: str,
    left_teams: Mapping[int, int] | None = None,
) -> None:
    """Send the conversations' inbox cards to their teams' agents and to those who see all,
    and tell the open conversation pages which conversations changed.

    `left_teams` names, for conversations just moved to another team (by an agent, a rule,
    an SLA policy, an admin), the team each left: that team's agents get its card too, so
    their inboxes ask for the row again, find it gone from their view and drop it. Otherwise
    it stayed in the old team's queue on every screen until a reload.

    A group gets one message for the whole batch, not one per conversation: in a storm each
    message is copied to every listening socket, and each send costs round trips to Redis,
    so this keeps the channel layer's work proportional to batches, not posts. Pages get the
    ids alone; the one showing a conversation that changed reads its card itself.

    Call it after commit. A channel layer that is down must not fail the caller: the posts
    are stored, and the inbox shows them on the next load.
    """
    if _card_reader is None:
        raise ImproperlyConfigured("No inbox card reader registered: is helpdesk installed?")
    cards = _card_reader(conversation_ids)
    if not cards:
        return
    left_teams = left_teams or {}
    inbox_cards: dict[str, list[dict]] = {}
    for card in cards:
        inbox_cards.setdefault(ALL_CONVERSATIONS_GROUP, []).append(card)
        teams = {card["team_id"], left_teams.get(card["id"])} - {None}
        for team_id in sorted(teams):
            inbox_cards.setdefault(team_group(team_id), []).append(card)
    request_id = current_request_id()
    messages = [
        (
            group,
            {
                "type": "conversations.changed",
                "event": event,
                "conversations": group_cards,
                "request_id": request_id,
            },
        )
        for group, group_cards in inbox_cards.items()
    ]
    messages.append(
        (
            CONVERSATION_PAGES_GROUP,
            {
                "type": "conversations.touched",
                "event": event,
                "ids": [card["id"] for card in cards],
                "request_id": request_id,
            },
        )
    )
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
