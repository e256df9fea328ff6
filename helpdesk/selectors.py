"""Reading conversations for the inbox, the conversation page and live updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import (
    ACTIVE_STATUSES,
    Conversation,
    ConversationStatus,
    Direction,
    Intent,
    Note,
    Platform,
    Post,
    Priority,
    ReplyTemplate,
    Team,
)
from core.selectors import display_name_of, visible_conversations, waiting_since, with_open_turn

from .models import Macro, SavedView

EXCERPT_CHARS = 140

# The SLA timers that hold the brand to answering (the first response, then each next one).
RESPONSE_TIMER_KINDS = ("first_response", "next_response")
RESPONSE_TIMER_LABELS = {
    "first_response": _("First response"),
    "next_response": _("Next response"),
}


def with_queue_facts(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Annotate what the queue sorts on: `waiting_since` (core.selectors.waiting_since) and
    `response_due_at`, when the response owed is due: the conversation's own
    first_response_due_at before the first reply, the running next-response timer's due
    instant after it (NULL when nothing is owed or no clock runs). Columns and two joins to
    small partial indexes (the open turns, the running next-response timers), never a
    subquery per row. `response_timer` (which of the two) is read by response_timer_of.
    """
    return (
        with_open_turn(conversations)
        .alias(
            next_response=FilteredRelation(
                "sla_timers",
                condition=Q(sla_timers__kind="next_response", sla_timers__stopped_at=None),
            )
        )
        .annotate(
            waiting_since=waiting_since(),
            response_due_at=Case(
                When(needs_reply=False, then=Value(None)),
                When(first_response_at__isnull=True, then=F("first_response_due_at")),
                default=F("next_response__due_at"),
                output_field=DateTimeField(),
            ),
        )
    )


def response_timer_of(*, first_response_at, response_due_at, needs_reply: bool = True) -> str:
    """ "first_response" or "next_response": the SLA target the response owed is held to
    ("" when no clock runs for it)."""
    if response_due_at is None or not needs_reply:
        return ""
    return "first_response" if first_response_at is None else "next_response"


# How the inbox can be sorted: key -> (label, order). Every order ends on the id so a page
# is stable; NULLs are placed explicitly (Postgres sorts them last, SQLite first).
INBOX_SORTS = {
    "waiting": (
        _("Waiting longest"),
        (
            F("waiting_since").asc(nulls_last=True),
            "-priority",
            F("response_due_at").asc(nulls_last=True),
            "-id",
        ),
    ),
    "due": (
        _("SLA due soonest"),
        (
            F("response_due_at").asc(nulls_last=True),
            F("waiting_since").asc(nulls_last=True),
            "-priority",
            "-id",
        ),
    ),
    "priority": (
        _("Priority"),
        ("-priority", F("waiting_since").asc(nulls_last=True), "-id"),
    ),
    "newest": (_("Newest"), (F("last_inbound_at").desc(nulls_last=True), "-id")),
}
DEFAULT_SORT = "waiting"
INBOX_ORDER = INBOX_SORTS[DEFAULT_SORT][1]


def inbox_for(user: AbstractBaseUser, *, limit: int = 100) -> list[Conversation]:
    """Active, awake conversations the user may work that need a reply, in queue order."""
    active = visible_conversations(user).filter(status__in=ACTIVE_STATUSES, needs_reply=True)
    return inbox_page(not_snoozed(active), limit=limit)


def conversation_detail(user: AbstractBaseUser, conversation_id: int) -> Conversation:
    """The conversation with its thread; raises Conversation.DoesNotExist if not visible."""
    return (
        visible_conversations(user)
        .select_related("customer", "account", "team", "assignee", "routed_by")
        .get(pk=conversation_id)
    )


def thread_of(conversation: Conversation) -> QuerySet[Post]:
    return conversation.posts.select_related(
        "customer", "customer__platform_profile", "agent"
    ).order_by("created_at", "id")


def not_snoozed(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Drop conversations snoozed into the future; they come back when the snooze ends."""
    return conversations.filter(
        Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=timezone.now())
    )


def snoozed(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Active conversations needing a reply, snoozed into the future (the Snoozed view)."""
    return conversations.filter(
        status__in=ACTIVE_STATUSES, needs_reply=True, snoozed_until__gt=timezone.now()
    )


# "No reply needed" shows what spam rules and triage set aside lately, not all history.
NO_REPLY_VIEW_DAYS = 7


def no_reply_needed(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Conversations set aside as needing no reply (triage said spam, a rule or an agent
    decided), still active or from the last NO_REPLY_VIEW_DAYS days: an agent can pull one
    back (services.mark_needs_reply)."""
    since = timezone.now() - timedelta(days=NO_REPLY_VIEW_DAYS)
    return conversations.filter(needs_reply=False).filter(
        Q(status__in=ACTIVE_STATUSES) | Q(created_at__gte=since)
    )


def inbox_page(
    conversations: QuerySet[Conversation], *, limit: int = 100, sort: str = DEFAULT_SORT
) -> list[Conversation]:
    """One page of the (already filtered) inbox in `sort` order (INBOX_SORTS; by default
    who has waited longest for what the brand owes them), with what a row shows."""
    latest_inbound = Post.objects.filter(
        conversation=OuterRef("pk"), direction=Direction.INBOUND
    ).order_by("-created_at", "-id")
    order = INBOX_SORTS.get(sort, INBOX_SORTS[DEFAULT_SORT])[1]
    rows = list(
        with_queue_facts(conversations.select_related("customer", "account", "team", "assignee"))
        .annotate(latest_text=Subquery(latest_inbound.values("text")[:1]))
        .order_by(*order)[:limit]
    )
    for row in rows:
        row.response_timer = response_timer_of(
            first_response_at=row.first_response_at,
            response_due_at=row.response_due_at,
            needs_reply=row.needs_reply,
        )
    return rows


def inbox_view_counts(user: AbstractBaseUser) -> dict[str, int]:
    """How many conversations each inbox view holds, in one aggregate query.

    The queue views count active, awake conversations that need a reply; "pending",
    "snoozed" and "noreply" count their views (see helpdesk.filters). "unanswered" counts
    the user's own still waiting for a first reply.
    """
    now = timezone.now()
    since = now - timedelta(days=NO_REPLY_VIEW_DAYS)
    conversations = visible_conversations(user).filter(
        Q(status__in=ACTIVE_STATUSES) | Q(needs_reply=False, created_at__gte=since)
    )
    own_team_ids = Team.objects.filter(agents__user=user).values("pk")
    active = Q(status__in=ACTIVE_STATUSES)
    queue = (
        active & Q(needs_reply=True) & (Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
    )
    return conversations.aggregate(
        mine=Count("pk", filter=queue & Q(assignee=user), distinct=True),
        team=Count("pk", filter=queue & Q(team__in=own_team_ids), distinct=True),
        unassigned=Count("pk", filter=queue & Q(assignee__isnull=True), distinct=True),
        all=Count("pk", filter=queue, distinct=True),
        mine_unanswered=Count(
            "pk", filter=queue & Q(assignee=user, first_response_at__isnull=True), distinct=True
        ),
        pending=Count("pk", filter=Q(status=ConversationStatus.PENDING), distinct=True),
        snoozed=Count(
            "pk", filter=active & Q(needs_reply=True, snoozed_until__gt=now), distinct=True
        ),
        noreply=Count("pk", filter=Q(needs_reply=False), distinct=True),
    )


def next_conversation_id(
    user: AbstractBaseUser,
    *,
    after: int,
    conversations: QuerySet[Conversation] | None = None,
    sort: str = DEFAULT_SORT,
) -> int | None:
    """The conversation after `after` in `conversations` (the agent's current inbox view
    and filters; by default their queue) in `sort` order, wrapping to the first."""
    if conversations is None:
        conversations = not_snoozed(
            visible_conversations(user).filter(status__in=ACTIVE_STATUSES, needs_reply=True)
        )
    order = INBOX_SORTS.get(sort, INBOX_SORTS[DEFAULT_SORT])[1]
    ids = list(with_queue_facts(conversations).order_by(*order).values_list("pk", flat=True)[:200])
    others = [pk for pk in ids if pk != after]
    if not others:
        return None
    if after in ids:
        following = ids[ids.index(after) + 1 :]
        if following:
            return following[0]
    return others[0]


def conversation_page(user: AbstractBaseUser, conversation_id: int) -> Conversation:
    """Everything the conversation page shows, in a fixed number of queries; raises
    Conversation.DoesNotExist if the user may not see it."""
    return (
        visible_conversations(user)
        .select_related("customer", "account", "team", "assignee", "routed_by")
        .prefetch_related(
            "tags",
            "sla_timers",
            Prefetch(
                "posts",
                queryset=Post.objects.select_related(
                    "customer", "customer__platform_profile", "agent"
                ),
            ),
            Prefetch(
                "notes", queryset=Note.objects.select_related("author").prefetch_related("mentions")
            ),
        )
        .get(pk=conversation_id)
    )


# Triage reasons that only hold for a post of this intent (triage.priority.prioritise).
_INTENT_REASONS = {"negative complaint": Intent.COMPLAINT, "no reply needed": Intent.SPAM}


def conversation_reasons(conversation: Conversation, thread: Sequence[Post]) -> list[str]:
    """Why the conversation has its priority, as triage said of its customer posts, less the
    reasons that belong to an intent the conversation no longer has (a "negative complaint"
    reason next to a "Compliment" tag would contradict itself)."""
    reasons = {reason for post in thread for reason in post.triage_reasons}
    return sorted(
        reason
        for reason in reasons
        if _INTENT_REASONS.get(reason, conversation.intent) == conversation.intent
    )


def past_conversations(
    user: AbstractBaseUser, conversation: Conversation, *, limit: int = 10
) -> list[Conversation]:
    """The customer's other conversations the user may open, the newest first."""
    return list(
        visible_conversations(user)
        .filter(customer_id=conversation.customer_id)
        .exclude(pk=conversation.pk)
        .order_by("-created_at")[:limit]
    )


def colleagues_of(user: AbstractBaseUser) -> list[AbstractBaseUser]:
    """The active agents of the teams the user works in (themselves included), by name: who
    a bulk action can assign to."""
    return list(
        get_user_model()
        .objects.filter(agent_profile__teams__agents__user=user, is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def team_agents(conversation: Conversation) -> list[AbstractBaseUser]:
    """Who the conversation can be assigned to: the agents of its team."""
    if conversation.team_id is None:
        return []
    return list(
        get_user_model()
        .objects.filter(agent_profile__teams=conversation.team_id, is_active=True)
        .order_by("username")
    )


def own_teams(user: AbstractBaseUser) -> list[Team]:
    """The teams the user works in, by name."""
    return list(Team.objects.filter(agents__user=user).order_by("name"))


def saved_views_for(user: AbstractBaseUser) -> list:
    """The inbox views the user saved, and those shared with a team they work in."""
    return list(
        SavedView.objects.filter(Q(owner=user) | Q(shared_with__agents__user=user))
        .select_related("shared_with")
        .distinct()
        .order_by("name", "id")
    )


def macros_for(conversation: Conversation) -> list:
    """The macros an agent may run on the conversation: its team's and everyone's."""
    return list(
        Macro.objects.filter(Q(team__isnull=True) | Q(team=conversation.team_id)).order_by("name")
    )


def assignable_agent(conversation: Conversation, username: str) -> AbstractBaseUser | None:
    """The active agent called `username` who may take the conversation (one of its team, or
    any agent while it has no team); None otherwise, whether or not the name exists."""
    agents = get_user_model().objects.filter(is_active=True, agent_profile__isnull=False)
    if conversation.team_id is not None:
        agents = agents.filter(agent_profile__teams=conversation.team_id)
    return agents.filter(**{get_user_model().USERNAME_FIELD: username}).first()


def reply_templates_for(conversation: Conversation) -> list[ReplyTemplate]:
    return list(
        ReplyTemplate.objects.filter(Q(team__isnull=True) | Q(team=conversation.team_id))
        .prefetch_related("variants")
        .order_by("name")
    )


def conversation_cards(conversation_ids: Sequence[int]) -> list[dict[str, Any]]:
    """What the inbox shows of these conversations, as JSON for live updates, in one query.

    Read as plain rows, not model instances: in a storm this runs for every batch of posts.
    Conversations that no longer exist are left out.
    """
    latest_text = Subquery(
        Post.objects.filter(conversation=OuterRef("pk"), direction=Direction.INBOUND)
        .order_by("-created_at", "-id")
        .values("text")[:1]
    )
    username = f"assignee__{get_user_model().USERNAME_FIELD}"
    rows = (
        with_queue_facts(Conversation.objects.filter(pk__any=conversation_ids))
        .annotate(latest_text=latest_text)
        .order_by("pk")
        .values(
            "pk",
            "team_id",
            "team__name",
            "assignee_id",
            username,
            "assignee__first_name",
            "assignee__last_name",
            "account__platform",
            "intent",
            "snoozed_until",
            "customer__handle",
            "customer__display_name",
            "status",
            "sentiment",
            "priority",
            "needs_reply",
            "latest_text",
            "first_response_due_at",
            "first_response_at",
            "last_inbound_at",
            "waiting_since",
            "response_due_at",
        )
    )
    return [_card(row, username) for row in rows]


_LABELS = {
    "platform": dict(Platform.choices),
    "status": dict(ConversationStatus.choices),
    "intent": dict(Intent.choices),
    "priority": dict(Priority.choices),
    "timer": RESPONSE_TIMER_LABELS,
}


def _card(row: dict[str, Any], username: str) -> dict[str, Any]:
    latest = row["latest_text"] or ""
    timer = response_timer_of(
        first_response_at=row["first_response_at"],
        response_due_at=row["response_due_at"],
        needs_reply=row["needs_reply"],
    )
    return {
        "id": row["pk"],
        "team_id": row["team_id"],
        "team": row["team__name"] or "",
        "assignee_id": row["assignee_id"],
        "assignee": display_name_of(
            row["assignee__first_name"], row["assignee__last_name"], row[username]
        ),
        "platform_code": row["account__platform"],
        "intent_code": row["intent"],
        "snoozed_until": _iso(row["snoozed_until"]),
        # A customer the platform gave no handle (an unknown author) reads by name.
        "customer": (
            f"@{row['customer__handle']}"
            if row["customer__handle"]
            else row["customer__display_name"] or str(_("Unknown author"))
        ),
        "customer_name": row["customer__display_name"],
        "platform": str(
            _LABELS["platform"].get(row["account__platform"], row["account__platform"])
        ),
        "status": row["status"],
        "status_label": str(_LABELS["status"].get(row["status"], row["status"])),
        "intent": str(_LABELS["intent"].get(row["intent"], row["intent"])) if row["intent"] else "",
        "sentiment": row["sentiment"],
        "priority": row["priority"],
        "priority_label": str(_LABELS["priority"].get(row["priority"], row["priority"])),
        "needs_reply": row["needs_reply"],
        "excerpt": latest[:EXCERPT_CHARS],
        "first_response_due_at": _iso(row["first_response_due_at"]),
        "first_response_at": _iso(row["first_response_at"]),
        "last_inbound_at": _iso(row["last_inbound_at"]),
        "waiting_since": _iso(row["waiting_since"]),
        "response_due_at": _iso(row["response_due_at"]),
        "response_timer": timer,
        "response_timer_label": str(_LABELS["timer"].get(timer, "")),
        "url": f"/conversations/{row['pk']}/",
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
