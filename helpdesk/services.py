"""What happens to a conversation: a post is triaged, routed and put on the SLA clock; agents
reply, leave notes and move it through its statuses."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from reports.services import record_customer_turns_of
from routing.services import (
    RoutingTable,
    auto_assign_many,
    reroute_on_priority_rise,
    route_conversation,
)
from sla.services import (
    ClockBatch,
    conversation_status_changed,
    customer_returned,
    record_first_response,
    start_response_clocks,
)
from triage.services import TRIAGE_FIELDS, triage_posts

from . import integrations
from .bulk import update_rows
from .models import (
    ACTIVE_STATUSES,
    PRIVATE_MESSAGE_CHAR_LIMIT,
    REPLY_CHAR_LIMITS,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    IntegrationEvent,
    Intent,
    Note,
    Post,
    Sentiment,
    reply_length,
)
from .realtime import (
    broadcast_conversation,
    broadcast_conversations,
    notice,
    notify_users_after_commit,
)
from .reply_templates import TAKEN_PRIVATE_NOTE, render_text

MENTION = re.compile(r"@([\w.+-]+)")


class StaleConversation(ValidationError):
    """The conversation changed after the agent opened it; they should look before sending."""


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
        # batches of the same conversations wait only for the writes below.
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
    transaction.on_commit(lambda: broadcast_conversations(touched_ids, event="post.received"))
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
            # Marked so the thread can tell the public note from an ordinary reply.
            sent.append(
                Post.objects.create(text=note, raw={"parley_outbound": "public_note"}, **outbound)
            )
        record_first_response(conversation, responded_at=now)
        if conversation.status == ConversationStatus.NEW:
            conversation.status = ConversationStatus.OPEN
        if conversation.assignee_id is None:
            conversation.assignee = agent
        conversation.save()
        from ingestion.services import deliver_after_commit

        for post in sent:
            deliver_after_commit(post.pk)
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


def set_needs_reply(
    *, conversation_id: int, needs_reply: bool, agent: AbstractBaseUser
) -> Conversation:
    """An agent's verdict on whether a conversation needs an answer.

    No reply needed (spam, chatter): the conversation leaves the queue for the "No reply
    needed" view, its intent becomes spam and its running clocks are dropped (they would
    count as met or breached in the reports). Needs a reply (pulled back from that view):
    it is open again in the queue, no longer spam, with its clocks running from now. Either
    way a note says who decided. Takes the conversation's row lock; broadcasts after commit.
    """
    from sla.services import drop_running_clocks, start_clocks_now

    now = timezone.now()
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("account", "customer")
            .get(pk=conversation_id)
        )
        if conversation.needs_reply == needs_reply:
            return conversation
        conversation.needs_reply = needs_reply
        if needs_reply:
            if conversation.intent in (Intent.SPAM, Intent.UNKNOWN):
                conversation.intent = Intent.OTHER
            if conversation.status not in ACTIVE_STATUSES:
                conversation.status = ConversationStatus.OPEN
                conversation.resolved_at = None
            start_clocks_now(conversation=conversation, at=now)
            verdict = "needs a reply"
        else:
            conversation.intent = Intent.SPAM
            drop_running_clocks(conversation=conversation)
            if conversation.first_response_at is None:
                conversation.first_response_due_at = None
            verdict = "needs no reply"
        conversation.save()
        Note.objects.create(
            conversation=conversation,
            author=agent,
            text=f"Marked as {verdict}.",
        )
        transaction.on_commit(
            lambda: broadcast_conversation(conversation.pk, event="conversation.needs_reply")
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
    """A private note; @username mentions of colleagues are recorded for their attention,
    and each one mentioned (but the author) hears of it live. The open pages of the
    conversation show the note after commit."""
    text = text.strip()
    if not text:
        raise ValidationError("A note needs some text.")
    with transaction.atomic():
        note = Note.objects.create(conversation_id=conversation_id, author=author, text=text)
        handles = set(MENTION.findall(text))
        if handles:
            mentioned = list(get_user_model().objects.filter(username__in=handles))
            note.mentions.set(mentioned)
            notify_users_after_commit(
                [user.pk for user in mentioned if user.pk != author.pk],
                notice(
                    "mention",
                    note.conversation,
                    key=note.pk,
                    text=f"{_name(author)} mentioned you in a note: {text[:140]}",
                ),
            )
        transaction.on_commit(lambda: broadcast_conversation(conversation_id, event="note.added"))
    return note


def _name(user: AbstractBaseUser) -> str:
    from .selectors import display_name

    return display_name(user)
