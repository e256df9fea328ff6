"""Reading conversations for the inbox, the conversation page and live updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

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
from core.selectors import visible_conversations

EXCERPT_CHARS = 140
# Unanswered first (Postgres sorts NULL last by default, SQLite first: say it), then the most
# urgent, then the soonest due.
INBOX_ORDER = (
    F("first_response_at").asc(nulls_first=True),
    "-priority",
    F("first_response_due_at").asc(nulls_last=True),
    "-id",
)


def inbox_for(user: AbstractBaseUser, *, limit: int = 100) -> list[Conversation]:
    """Active, awake conversations the user may work, the most urgent first."""
    active = visible_conversations(user).filter(status__in=ACTIVE_STATUSES)
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


def inbox_page(conversations: QuerySet[Conversation], *, limit: int = 100) -> list[Conversation]:
    """One page of the (already filtered) inbox, the most urgent first, with what a row shows."""
    latest_inbound = Post.objects.filter(
        conversation=OuterRef("pk"), direction=Direction.INBOUND
    ).order_by("-created_at", "-id")
    return list(
        conversations.select_related("customer", "account", "team", "assignee")
        .annotate(latest_text=Subquery(latest_inbound.values("text")[:1]))
        .order_by(*INBOX_ORDER)[:limit]
    )


def inbox_view_counts(user: AbstractBaseUser) -> dict[str, int]:
    """How many active, awake conversations each inbox view holds, in one aggregate query.

    "unanswered" counts those still waiting for a first reply among the user's own.
    """
    conversations = not_snoozed(visible_conversations(user).filter(status__in=ACTIVE_STATUSES))
    own_team_ids = Team.objects.filter(agents__user=user).values("pk")
    return conversations.aggregate(
        mine=Count("pk", filter=Q(assignee=user), distinct=True),
        team=Count("pk", filter=Q(team__in=own_team_ids), distinct=True),
        unassigned=Count("pk", filter=Q(assignee__isnull=True), distinct=True),
        all=Count("pk", distinct=True),
        mine_unanswered=Count(
            "pk", filter=Q(assignee=user, first_response_at__isnull=True), distinct=True
        ),
    )


def next_conversation_id(user: AbstractBaseUser, *, after: int) -> int | None:
    """The conversation after `after` in the user's inbox order (wrapping to the first)."""
    ids = list(
        not_snoozed(visible_conversations(user).filter(status__in=ACTIVE_STATUSES))
        .order_by(*INBOX_ORDER)
        .values_list("pk", flat=True)[:200]
    )
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


def team_agents(conversation: Conversation) -> list[AbstractBaseUser]:
    """Who the conversation can be assigned to: the agents of its team."""
    if conversation.team_id is None:
        return []
    return list(
        get_user_model()
        .objects.filter(agent_profile__teams=conversation.team_id, is_active=True)
        .order_by("username")
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
    rows = (
        Conversation.objects.filter(pk__any=conversation_ids)
        .annotate(latest_text=latest_text)
        .order_by("pk")
        .values(
            "pk",
            "team_id",
            "team__name",
            "assignee_id",
            f"assignee__{get_user_model().USERNAME_FIELD}",
            "account__platform",
            "intent",
            "snoozed_until",
            "customer__handle",
            "customer__display_name",
            "status",
            "sentiment",
            "priority",
            "latest_text",
            "first_response_due_at",
            "first_response_at",
        )
    )
    return [_card(row) for row in rows]


_LABELS = {
    "platform": dict(Platform.choices),
    "status": dict(ConversationStatus.choices),
    "intent": dict(Intent.choices),
    "priority": dict(Priority.choices),
}


def _card(row: dict[str, Any]) -> dict[str, Any]:
    latest = row["latest_text"] or ""
    return {
        "id": row["pk"],
        "team_id": row["team_id"],
        "team": row["team__name"] or "",
        "assignee_id": row["assignee_id"],
        "assignee": row[f"assignee__{get_user_model().USERNAME_FIELD}"] or "",
        "platform_code": row["account__platform"],
        "intent_code": row["intent"],
        "snoozed_until": _iso(row["snoozed_until"]),
        # A customer the platform gave no handle (an unknown author) reads by name.
        "customer": (
            f"@{row['customer__handle']}"
            if row["customer__handle"]
            else row["customer__display_name"] or "Unknown author"
        ),
        "customer_name": row["customer__display_name"],
        "platform": _LABELS["platform"].get(row["account__platform"], row["account__platform"]),
        "status": row["status"],
        "status_label": _LABELS["status"].get(row["status"], row["status"]),
        "intent": _LABELS["intent"].get(row["intent"], row["intent"]) if row["intent"] else "",
        "sentiment": row["sentiment"],
        "priority": row["priority"],
        "priority_label": _LABELS["priority"].get(row["priority"], row["priority"]),
        "excerpt": latest[:EXCERPT_CHARS],
        "first_response_due_at": _iso(row["first_response_due_at"]),
        "first_response_at": _iso(row["first_response_at"]),
        "url": f"/conversations/{row['pk']}/",
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
