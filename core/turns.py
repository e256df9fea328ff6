"""Customer turns: each customer message that opened a new turn (the brand had answered
everything before it) and when the brand next answered. The inbox's "waiting since", the
cockpit and the next-response KPI all read them.

They are derived from the conversation's posts and kept in step whichever app writes a post:
post_save/post_delete receivers for single writes (connected in CoreConfig.ready), and
`record_customer_turns_of` for batches stored without save() (the ingest pipeline).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from .models import Conversation, CustomerTurn, Direction, Post


def customer_turns(
    posts: Iterable[tuple[int, str, datetime]],
) -> dict[int, tuple[datetime, datetime | None]]:
    """The turns in one conversation's posts, given as (id, direction, created_at):
    {inbound post id: (started_at, answered_at or None)}.

    An inbound post opens a turn when the brand had replied before it and no other customer
    post came between that reply and it; the turn is answered by the brand's first reply at
    or after it. Posts at the same instant do not count as "before" one another.
    """
    posts = list(posts)
    replies = sorted(at for _, direction, at in posts if direction == Direction.OUTBOUND)
    messages = sorted(at for _, direction, at in posts if direction == Direction.INBOUND)
    turns = {}
    for post_id, direction, at in posts:
        if direction != Direction.INBOUND:
            continue
        replies_before = bisect_left(replies, at)
        if not replies_before:
            continue
        last_reply = replies[replies_before - 1]
        messages_before = bisect_left(messages, at)
        if messages_before and messages[messages_before - 1] > last_reply:
            continue
        answered = replies[replies_before] if replies_before < len(replies) else None
        turns[post_id] = (at, answered)
    return turns


def record_customer_turns(*, conversation_id: int) -> None:
    """Rewrite the conversation's CustomerTurn rows from its posts, as they are now.

    Called whenever a post is saved (reports.signals), whatever wrote it: a post arriving
    late can open or merge turns, a reply answers every open one.
    """
    with transaction.atomic():
        # Two writers of one conversation recompute one after the other, so the later one
        # sees the earlier one's post (Postgres; SQLite serialises writers anyway).
        locked = list(
            Conversation.objects.select_for_update()
            .filter(pk=conversation_id)
            .values_list("pk", flat=True)
        )
        if not locked:
            return
        wanted = customer_turns(
            Post.objects.filter(conversation_id=conversation_id).values_list(
                "pk", "direction", "created_at"
            )
        )
        stored = {
            turn.post_id: turn for turn in CustomerTurn.objects.filter(conversation_id=locked[0])
        }
        stale = [turn.pk for post_id, turn in stored.items() if post_id not in wanted]
        if stale:
            CustomerTurn.objects.filter(pk__in=stale).delete()
        open_turns = [started for started, answered in wanted.values() if answered is None]
        Conversation.objects.filter(pk=conversation_id).update(
            open_turn_started_at=min(open_turns, default=None)
        )
        for post_id, (started_at, answered_at) in wanted.items():
            turn = stored.get(post_id)
            if turn is None:
                CustomerTurn.objects.create(
                    conversation_id=conversation_id,
                    post_id=post_id,
                    started_at=started_at,
                    answered_at=answered_at,
                )
            elif (turn.started_at, turn.answered_at) != (started_at, answered_at):
                turn.started_at, turn.answered_at = started_at, answered_at
                turn.save(update_fields=["started_at", "answered_at"])


# The same definition as customer_turns, set-based, for a whole history at once: window
# functions over each conversation's posts in time order (Postgres and SQLite >= 3.28 alike).
# EXCLUDE GROUP keeps posts of the same instant out of "before".
REBUILD_TURNS_SQL = """
INSERT INTO reports_customerturn (conversation_id, post_id, started_at, answered_at)
SELECT conversation_id, id, created_at, next_reply_at
FROM (
    SELECT id, conversation_id, direction, created_at,
        MAX(CASE WHEN direction = 'outbound' THEN created_at END) OVER before AS last_reply_at,
        MAX(CASE WHEN direction = 'inbound' THEN created_at END) OVER before AS last_message_at,
        MIN(CASE WHEN direction = 'outbound' THEN created_at END) OVER (
            PARTITION BY conversation_id ORDER BY created_at
            RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
        ) AS next_reply_at
    FROM helpdesk_post{where}
    WINDOW before AS (
        PARTITION BY conversation_id ORDER BY created_at
        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP
    )
) AS thread
WHERE direction = 'inbound'
    AND last_reply_at IS NOT NULL
    AND (last_message_at IS NULL OR last_message_at <= last_reply_at)
"""


# Conversation.open_turn_started_at from the turns just written (what the stored
# `waiting_since` reads): cleared where no turn is open any more, set where one is, and rows
# already right left alone (a rebuild rewrites only what changed). Set-based (an anti-join,
# an UPDATE ... FROM a grouped read of the open turns), for Postgres and SQLite >= 3.33.
# `{where}` narrows to some conversations: " AND {column} ..." for each table's column.
CLEAR_OPEN_TURNS_SQL = """
UPDATE helpdesk_conversation SET open_turn_started_at = NULL
WHERE open_turn_started_at IS NOT NULL{where_conversation}
    AND NOT EXISTS (
        SELECT 1 FROM reports_customerturn turn
        WHERE turn.conversation_id = helpdesk_conversation.id AND turn.answered_at IS NULL
    )
"""
SET_OPEN_TURNS_SQL = """
UPDATE helpdesk_conversation SET open_turn_started_at = open_turn.started_at
FROM (
    SELECT conversation_id, MIN(started_at) AS started_at FROM reports_customerturn
    WHERE answered_at IS NULL{where_turn}
    GROUP BY conversation_id
) AS open_turn
WHERE helpdesk_conversation.id = open_turn.conversation_id
    AND (
        helpdesk_conversation.open_turn_started_at IS NULL
        OR helpdesk_conversation.open_turn_started_at <> open_turn.started_at
    )
"""


def _store_open_turns(narrow: str = "", params: Collection[Any] = ()) -> None:
    """`narrow`: a condition on "{column}" (e.g. "{column} = ANY(%s)"), or all conversations."""
    with connection.cursor() as cursor:
        for statement, column in (
            (CLEAR_OPEN_TURNS_SQL, "helpdesk_conversation.id"),
            (SET_OPEN_TURNS_SQL, "conversation_id"),
        ):
            where = f" AND {narrow.format(column=column)}" if narrow else ""
            cursor.execute(
                statement.format(where_conversation=where, where_turn=where), list(params)
            )


def rebuild_customer_turns() -> int:
    """Recompute every conversation's turns in one statement, for loaders that write posts
    without save() (COPY, bulk_create); returns how many turns there are."""
    with transaction.atomic():
        CustomerTurn.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(REBUILD_TURNS_SQL.format(where=""))
        _store_open_turns()
    return CustomerTurn.objects.count()


def record_customer_turns_of(conversation_ids: Collection[int]) -> None:
    """Recompute the turns of these conversations in two statements, whatever their number:
    for a batch of posts stored without save() (ingestion.store). The caller holds the
    conversations' posts steady (the authors' row locks of the storing transaction)."""
    if not conversation_ids:
        return
    ids = sorted(conversation_ids)
    with transaction.atomic():
        CustomerTurn.objects.filter(conversation_id__any=ids).delete()
        if connection.vendor == "postgresql":
            # One array, not a placeholder per id (see core.lookups).
            narrow, params = "{column} = ANY(%s::bigint[])", [ids]
        else:
            narrow, params = f"{{column}} IN ({', '.join(['%s'] * len(ids))})", ids
        with connection.cursor() as cursor:
            where = " WHERE " + narrow.format(column="conversation_id")
            cursor.execute(REBUILD_TURNS_SQL.format(where=where), params)
        _store_open_turns(narrow, params)


# A save touching none of these cannot change the conversation's turns (triage, delivery).
TURN_FIELDS = frozenset({"conversation", "conversation_id", "direction", "created_at"})


def post_saved(
    sender: type[Post], instance: Post, raw: bool = False, update_fields=None, **kwargs: Any
) -> None:
    if raw or (update_fields is not None and not TURN_FIELDS & set(update_fields)):
        return
    record_customer_turns(conversation_id=instance.conversation_id)


def post_deleted(sender: type[Post], instance: Post, origin: Any = None, **kwargs: Any) -> None:
    # Deleting the conversation takes its turns with it; nothing to recompute.
    if isinstance(origin, Conversation) or getattr(origin, "model", None) is Conversation:
        return
    record_customer_turns(conversation_id=instance.conversation_id)


def connect_signals() -> None:
    post_save.connect(post_saved, sender=Post, dispatch_uid="core.turns.post_saved")
    post_delete.connect(post_deleted, sender=Post, dispatch_uid="core.turns.post_deleted")
