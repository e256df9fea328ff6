"""The inbound flow after storing: triage → route → SLA clock → assign → broadcast.

A batch of stored inbound posts goes through every stage here, top to bottom, in one
transaction per batch (ingestion.store calls `process_stored_posts` inside the transaction
that stores the posts; `process_inbound_posts` is for posts stored without it: a failed
batch, the reliability sweep). The stages know nothing of each other; this module is the
one place that calls them in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core import integrations
from core.bulk import update_rows
from core.models import (
    ACTIVE_STATUSES,
    Conversation,
    ConversationStatus,
    Direction,
    IntegrationEvent,
    Intent,
    Post,
    Sentiment,
)
from core.realtime import (
    broadcast_conversations,
    notice,
    notify_users_after_commit,
    teams_left,
)
from core.turns import record_customer_turns_of
from routing.services import (
    RoutingTable,
    auto_assign_many,
    reroute_on_priority_rise,
    route_conversation,
)
from sla.services import ClockBatch, customer_returned, start_response_clocks
from triage.services import TRIAGE_FIELDS, triage_posts


def process_inbound_post(*, post_id: int) -> Post:
    """Triage a stored inbound post, route its conversation and start its SLA clock."""
    process_inbound_posts(post_ids=[post_id])
    return Post.objects.get(pk=post_id)


# What routing, assignment and the SLA clock may change on a conversation.
_PROCESSED_FIELDS = [
    "intent",
    "sentiment",
    "priority",
    "team",
    "routed_by",
    "assignee",
    "needs_reply",
    "status",
    "resolved_at",
    "first_response_due_at",
    "snoozed_until",
    "last_inbound_at",
    "updated_at",
]


def stored_classifier_text(post: Post) -> str:
    """classifier_text for a stored post: its text, or "[photo]" etc. from its attachments."""
    attachments = post.raw.get("parley_attachments") if isinstance(post.raw, dict) else None
    if post.text.strip() or not isinstance(attachments, list):
        return post.text
    kinds = [str(a.get("type") or "file") for a in attachments if isinstance(a, dict)]
    return " ".join(f"[{kind}]" for kind in kinds) or post.text


def process_inbound_posts(*, post_ids: Sequence[int]) -> int:
    """Triage stored inbound posts, route their conversations and start their SLA clocks, all
    in one transaction; returns how many posts were processed.

    The ingest path processes new posts as it stores them (process_stored_posts); this is
    for posts stored without it (a failed batch, the reliability sweep). A batch costs one
    classifier call per model and a bounded number of statements, whatever its size. Safe to
    run twice: posts already triaged are left as they are.
    """
    unprocessed = list(
        Post.objects.select_related("customer")
        .filter(pk__in=post_ids, direction=Direction.INBOUND, intent="")
        .order_by("pk")
    )
    if not unprocessed:
        return 0
    with transaction.atomic():
        # Classified before any lock is taken: the classifier is the slow part, and other
        # batches of the same conversations wait only for the writes below. A photo without
        # text is classified as "[photo]", as on the ingest path (only the tags are written).
        for post in unprocessed:
            post.text = stored_classifier_text(post)
        triage_posts(unprocessed)
        conversations = _lock_conversations({post.conversation_id for post in unprocessed})
        # Under the locks: a concurrent run of the same batch has processed some, maybe.
        still_unprocessed = set(
            Post.objects.filter(pk__in=[post.pk for post in unprocessed], intent="").values_list(
                "pk", flat=True
            )
        )
        posts = [post for post in unprocessed if post.pk in still_unprocessed]
        if not posts:
            return 0
        update_rows(posts, TRIAGE_FIELDS)
        _route_and_clock(posts, conversations)
    return len(posts)


def process_stored_posts(posts: Sequence[Post], *, opened: Sequence[Conversation] = ()) -> None:
    """Route the conversations of posts just stored and triaged in the caller's transaction,
    and start their SLA clocks (ingestion.store: one transaction per delivery or poll page).

    `opened` are conversations the caller's transaction created, with their account and
    customer: nobody else can see them yet, so they are neither locked nor read again.
    """
    new = {conversation.pk: conversation for conversation in opened}
    conversations = _lock_conversations({post.conversation_id for post in posts} - new.keys())
    conversations.update(new)
    _route_and_clock(sorted(posts, key=lambda post: post.pk), conversations, new=new.keys())


def _lock_conversations(conversation_ids: set[int]) -> dict[int, Conversation]:
    """The conversations, locked in id order so batches sharing conversations never wait on
    each other crosswise. NO KEY UPDATE: posts being stored into them (whose foreign keys
    take a KEY SHARE lock) need not wait. Only the conversation rows: Postgres refuses a lock
    on the nullable side of select_related("routed_by")."""
    return {
        conversation.pk: conversation
        for conversation in Conversation.objects.select_for_update(of=("self",), no_key=True)
        .select_related("account", "routed_by", "customer")
        # The account's credentials are decrypted on load; nothing here needs them.
        .defer("account__credentials")
        .filter(pk__any=conversation_ids)
        .order_by("pk")
    }


# How actionable an intent is: a conversation keeps the most actionable intent of its
# current customer turn, so "thank you" after a complaint does not hide the complaint.
INTENT_RANK = {
    Intent.COMPLAINT: 6,
    Intent.REQUEST: 5,
    Intent.QUESTION: 4,
    Intent.FEEDBACK: 3,
    Intent.COMPLIMENT: 2,
    Intent.OTHER: 1,
    Intent.SPAM: 0,
    Intent.UNKNOWN: -1,
}
_SENTIMENT_RANK = {Sentiment.NEGATIVE: 2, Sentiment.NEUTRAL: 1, Sentiment.POSITIVE: 0}


def apply_post_tags(conversation: Conversation, post: Post, *, new_turn: bool) -> None:
    """Update the conversation's intent and sentiment for a customer post.

    A new customer turn (the brand answered since the customer's last post) takes the post's
    tags. Within a turn the conversation keeps the most actionable intent (INTENT_RANK) and,
    at equal intent, the more negative sentiment: a later, milder post does not overwrite
    what the agent still owes. An agent's correction is the conversation's intent from then
    on (triage.services.record_feedback), and so is only ever raised by a more actionable
    post, never lowered.
    """
    current = INTENT_RANK.get(conversation.intent, -1)
    incoming = INTENT_RANK.get(post.intent, -1)
    if new_turn or not conversation.intent or incoming > current:
        conversation.intent, conversation.sentiment = post.intent, post.sentiment
    elif incoming == current and _SENTIMENT_RANK.get(post.sentiment, -1) > _SENTIMENT_RANK.get(
        conversation.sentiment, -1
    ):
        conversation.sentiment = post.sentiment


def _last_agent_replies(conversation_ids: Iterable[int]) -> dict[int, datetime]:
    """When an agent last answered each of these conversations (one query)."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    return dict(
        Post.objects.filter(
            conversation_id__any=ids, direction=Direction.OUTBOUND, agent__isnull=False
        )
        .values("conversation_id")
        .annotate(at=Max("created_at"))
        .values_list("conversation_id", "at")
    )


def _route_and_clock(
    posts: Sequence[Post], conversations: dict[int, Conversation], *, new: Iterable[int] = ()
) -> None:
    """Apply triaged posts, in order, to their locked conversations (the `new` ones created
    in this transaction): tags and priority, routing, SLA clocks, assignment; write the
    conversations and broadcast them at commit.

    The queue's rules, post by post:
    - tags follow the customer turn (apply_post_tags); a turn whose intent is spam starts no
      clock, and a conversation spam from the start needs no reply (the "No reply needed"
      view) until a more actionable post puts it back on the clock;
    - a customer post on a pending conversation opens it again, and the resolution clock
      paused while waiting on the customer runs again (so does one stopped by a resolution
      the post reopened, see ingestion.store); its assignee hears of it live;
    - routing is decided for an unrouted conversation, and decided again when a post raises
      the priority (routing.services.reroute_on_priority_rise).
    """
    new = set(new)
    teams_before = {pk: conversation.team_id for pk, conversation in conversations.items()}
    routing = RoutingTable.load()
    clocks = ClockBatch()
    clocks.read_timers(conversations.keys() - new, new=new)
    last_replies = _last_agent_replies(conversations.keys() - new)
    newly_routed = []
    returned: dict[int, Conversation] = {}
    for post in posts:
        conversation = conversations[post.conversation_id]
        last_reply = last_replies.get(conversation.pk)
        new_turn = conversation.last_inbound_at is None or (
            last_reply is not None and last_reply >= conversation.last_inbound_at
        )
        conversation.last_inbound_at = max(
            filter(None, [conversation.last_inbound_at, post.created_at])
        )
        apply_post_tags(conversation, post, new_turn=new_turn)
        priority_before = conversation.priority
        conversation.priority = max(conversation.priority, post.priority)
        if conversation.team_id is None:
            newly_routed.append(conversation)
            route_conversation(conversation=conversation, post=post, table=routing)
        elif conversation.priority > priority_before:
            reroute_on_priority_rise(conversation=conversation, post=post, table=routing)
        spam_turn = conversation.intent == Intent.SPAM
        if conversation.status in ACTIVE_STATUSES and conversation.first_response_at is None:
            # Spam from the start needs no reply; a post in it that does puts it back.
            conversation.needs_reply = not spam_turn
        if conversation.status == ConversationStatus.PENDING:
            conversation.status = ConversationStatus.OPEN
            returned[conversation.pk] = conversation
        if conversation.needs_reply and not spam_turn:
            if conversation.pk not in new:
                customer_returned(conversation=conversation, at=post.received_at, batch=clocks)
            start_response_clocks(conversation=conversation, post=post, batch=clocks)
        elif conversation.first_response_due_at and conversation.first_response_at is None:
            conversation.first_response_due_at = None
        # The customer wrote again: a snoozed conversation wakes up now.
        conversation.snoozed_until = None
    clocks.flush()
    integrations.emit_many(IntegrationEvent.CONVERSATION_CREATED, newly_routed)
    touched = [conversations[pk] for pk in sorted({post.conversation_id for post in posts})]
    auto_assign_many(touched)
    now = timezone.now()
    for conversation in touched:
        conversation.updated_at = now
    update_rows(touched, _PROCESSED_FIELDS)
    # A post in a conversation the brand has answered may start a customer turn (the
    # next-response KPI). The posts were stored without save(), so no signal did it.
    record_customer_turns_of([conversation.pk for conversation in touched])
    touched_ids = [conversation.pk for conversation in touched]
    # A rise in priority may have moved a conversation to another team: the team it left
    # hears of it too.
    left = teams_left(teams_before, touched)
    transaction.on_commit(
        lambda: broadcast_conversations(touched_ids, event="post.received", left_teams=left)
    )
    for conversation in returned.values():
        if conversation.assignee_id is not None:
            notify_users_after_commit(
                [conversation.assignee_id],
                notice(
                    "conversation.reopened",
                    conversation,
                    text=f"@{conversation.customer.handle} wrote again: back to Open.",
                ),
            )
