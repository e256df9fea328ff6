"""Who may see what: the visibility rules every page, socket and report applies; and the
few readings every app must agree on: how long a customer has waited, what a person is
called."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Case,
    DateTimeField,
    Expression,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)

from .models import Conversation, CustomerTurn, Team

VIEW_ALL_CONVERSATIONS = "core.view_all_conversations"


def can_see_all_conversations(user: AbstractBaseUser) -> bool:
    return user.is_superuser or user.has_perm(VIEW_ALL_CONVERSATIONS)


def visible_team_ids(user: AbstractBaseUser) -> list[int]:
    if can_see_all_conversations(user):
        return list(Team.objects.values_list("pk", flat=True))
    return list(Team.objects.filter(agents__user=user).values_list("pk", flat=True))


def own_team_ids(user: AbstractBaseUser) -> list[int]:
    """The teams the user works in (whatever else they may see)."""
    return list(Team.objects.filter(agents__user=user).values_list("pk", flat=True))


def visible_conversations(user: AbstractBaseUser) -> QuerySet[Conversation]:
    conversations = Conversation.objects.all()
    if not can_see_all_conversations(user):
        conversations = conversations.filter(team__agents__user=user)
    return conversations


def waiting_since(conversation: str = "pk") -> Expression:
    """When the customer started waiting for what the brand owes them now: the oldest
    unanswered customer post of the current customer turn; NULL when nothing is owed.

    This is THE definition of "waiting since" (the inbox sorts on it, the cockpit reads it):
    annotate a Conversation queryset with `.annotate(waiting_since=waiting_since())`, or
    any queryset with a conversation foreign key with `waiting_since("conversation")`.

    - Before the first agent reply (`first_response_at` empty): since the conversation's
      first customer post reached Parley (`created_at`), the instant the first-response
      clock counts from. Automatic replies (out of hours, triage) do not answer, as they do
      not stop that clock.
    - After it: the start of the customer turn the brand has not answered yet (a
      core.models.CustomerTurn row with no `answered_at`; there is at most one, the latest),
      kept in step with the posts by every writer.
    - A conversation that needs no reply (spam, chatter) owes nothing.

    Cost: a column for conversations not answered yet (most of an open queue); one index
    probe (customer turns by conversation) for the others.
    """
    open_turn = (
        CustomerTurn.objects.filter(conversation=OuterRef(conversation), answered_at=None)
        .order_by("-started_at")
        .values("started_at")[:1]
    )
    prefix = "" if conversation == "pk" else f"{conversation}__"
    return Case(
        When(**{f"{prefix}needs_reply": False}, then=Value(None)),
        When(**{f"{prefix}first_response_at__isnull": True}, then=F(f"{prefix}created_at")),
        default=Subquery(open_turn),
        output_field=DateTimeField(),
    )


def display_name(user: AbstractBaseUser | None) -> str:
    """What Parley calls a person everywhere (thread, dropdowns, presence, inbox): their full
    name, or their username when they have none; "" for nobody."""
    if user is None:
        return ""
    full = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return full or user.get_username()


def display_name_of(first: str | None, last: str | None, username: str | None) -> str:
    """display_name from a row's columns (the cards are read as plain rows)."""
    return f"{first or ''} {last or ''}".strip() or (username or "")
