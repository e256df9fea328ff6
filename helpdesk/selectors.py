"""Reading conversations for the inbox, the conversation page and live updates."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, OuterRef, QuerySet, Subquery

from .models import ACTIVE_STATUSES, Conversation, Direction, Post, Team

EXCERPT_CHARS = 140
# Unanswered first (Postgres sorts NULL last by default, SQLite first: say it), then the most
# urgent, then the soonest due.
INBOX_ORDER = (
    F("first_response_at").asc(nulls_first=True),
    "-priority",
    F("first_response_due_at").asc(nulls_last=True),
    "-id",
)


def can_see_all_conversations(user: AbstractBaseUser) -> bool:
    return user.is_superuser or user.has_perm("helpdesk.view_all_conversations")


def visible_team_ids(user: AbstractBaseUser) -> list[int]:
    if can_see_all_conversations(user):
        return list(Team.objects.values_list("pk", flat=True))
    return list(Team.objects.filter(agents__user=user).values_list("pk", flat=True))


def visible_conversations(user: AbstractBaseUser) -> QuerySet[Conversation]:
    conversations = Conversation.objects.all()
    if not can_see_all_conversations(user):
        conversations = conversations.filter(team__agents__user=user)
    return conversations


def inbox_for(user: AbstractBaseUser, *, limit: int = 100) -> list[Conversation]:
    """Active conversations the user may work, the most urgent first."""
    latest_inbound = Post.objects.filter(
        conversation=OuterRef("pk"), direction=Direction.INBOUND
    ).order_by("-created_at", "-id")
    return list(
        visible_conversations(user)
        .filter(status__in=ACTIVE_STATUSES)
        .select_related("customer", "account", "team", "assignee")
        .annotate(latest_text=Subquery(latest_inbound.values("text")[:1]))
        .order_by(*INBOX_ORDER)[:limit]
    )


def conversation_detail(user: AbstractBaseUser, conversation_id: int) -> Conversation:
    """The conversation with its thread; raises Conversation.DoesNotExist if not visible."""
    return (
        visible_conversations(user)
        .select_related("customer", "account", "team", "assignee", "routed_by")
        .get(pk=conversation_id)
    )


def thread_of(conversation: Conversation) -> QuerySet[Post]:
    return conversation.posts.select_related("customer", "agent").order_by("created_at", "id")


def conversation_card(conversation_id: int) -> dict[str, Any]:
    """What the inbox shows of one conversation, as JSON for live updates."""
    conversation = Conversation.objects.select_related("customer", "account", "team").get(
        pk=conversation_id
    )
    latest = (
        conversation.posts.filter(direction=Direction.INBOUND)
        .order_by("-created_at", "-id")
        .values_list("text", flat=True)
        .first()
    ) or ""
    return {
        "id": conversation.pk,
        "team_id": conversation.team_id,
        "team": conversation.team.name if conversation.team else "",
        "customer": f"@{conversation.customer.handle}",
        "customer_name": conversation.customer.display_name,
        "platform": conversation.account.get_platform_display(),
        "status": conversation.status,
        "status_label": conversation.get_status_display(),
        "intent": conversation.get_intent_display() if conversation.intent else "",
        "sentiment": conversation.sentiment,
        "priority": conversation.priority,
        "priority_label": conversation.get_priority_display(),
        "excerpt": latest[:EXCERPT_CHARS],
        "first_response_due_at": _iso(conversation.first_response_due_at),
        "first_response_at": _iso(conversation.first_response_at),
        "url": f"/conversations/{conversation.pk}/",
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
