"""Who may see what: the visibility rules every page, socket and report applies; and the
few readings every app must agree on: how long a customer has waited, what a person is
called."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Case,
    DateTimeField,
    Expression,
    F,
    FilteredRelation,
    Q,
    QuerySet,
    Value,
    When,
)

from .models import AgentPreferences, AgentProfile, Conversation, Team

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


def visible_conversations(
    user: AbstractBaseUser, *, team_ids: Sequence[int] | None = None
) -> QuerySet[Conversation]:
    """The conversations the user may see: every one for a supervisor, their teams' for an
    agent. A caller that has read the user's teams already (own_team_ids) passes them as
    `team_ids`: a list of ids lets the database page a deep queue straight from its index,
    where the join through the agent's profile hides how many rows a team holds."""
    conversations = Conversation.objects.all()
    if not can_see_all_conversations(user):
        if team_ids is not None:
            return conversations.filter(team_id__in=list(team_ids))
        # A subquery, not a join through the agent's profile: the join adds three tables
        # to every statement built on this (the conversation page's select_related has
        # six), and planning that join order cost 10 ms of the page's 1 ms of execution.
        own_teams = AgentProfile.teams.through.objects.filter(agentprofile__user=user)
        conversations = conversations.filter(team_id__in=own_teams.values("team_id"))
    return conversations


def waiting_since() -> Expression:
    """When the customer started waiting for what the brand owes them now: the oldest
    unanswered customer post of the current customer turn; NULL when nothing is owed.

    This is THE definition of "waiting since" (the inbox sorts on it, the cockpit reads it):
    `with_open_turn(conversations).annotate(waiting_since=waiting_since())` on a
    Conversation queryset.

    - Before the first agent reply (`first_response_at` empty): since the conversation's
      first customer post reached Parley (`created_at`), the instant the first-response
      clock counts from. Automatic replies (out of hours, triage) do not answer, as they do
      not stop that clock.
    - After it: the start of the customer turn the brand has not answered yet (a
      core.models.CustomerTurn row with no `answered_at`; there is at most one, the latest),
      kept in step with the posts by every writer.
    - A conversation that needs no reply (spam, chatter) owes nothing.

    Cost: columns, and a join to the open turns (see with_open_turn), whatever the depth
    of the queue.
    """
    return Case(
        When(needs_reply=False, then=Value(None)),
        When(first_response_at__isnull=True, then=F("created_at")),
        default=F(f"{OPEN_TURN}__started_at"),
        output_field=DateTimeField(),
    )


# The alias of a conversation's unanswered customer turn (at most one: a turn opens only
# after the brand answered the one before), joined by with_open_turn.
OPEN_TURN = "open_turn"


def with_open_turn(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Join each conversation to its unanswered customer turn, if any, as OPEN_TURN: what
    waiting_since() reads. A join, not a subquery per row: the database can read the few
    open turns once (a partial index) for a queue of any depth."""
    return conversations.alias(
        **{
            OPEN_TURN: FilteredRelation(
                "customer_turns", condition=Q(customer_turns__answered_at=None)
            )
        }
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


@dataclass(frozen=True)
class NotificationChoices:
    """How one person wants to hear of SLA alerts, mentions and assignments."""

    in_page: bool
    desktop: bool
    by_email: bool


def notification_choices(user_id: int) -> NotificationChoices:
    """The person's profile choices, or the model's defaults when they never saved any."""
    row = (
        AgentPreferences.objects.filter(user_id=user_id)
        .values("notify_in_page", "notify_desktop", "notify_by_email")
        .first()
    )
    if row is None:
        defaults = {
            name: AgentPreferences._meta.get_field(name).get_default()
            for name in ("notify_in_page", "notify_desktop", "notify_by_email")
        }
        row = defaults
    return NotificationChoices(
        in_page=row["notify_in_page"],
        desktop=row["notify_desktop"],
        by_email=row["notify_by_email"],
    )


def emails_for_mentions(user_ids: list[int]) -> list[str]:
    """The addresses of those who asked to be e-mailed when @mentioned (and have one)."""
    return sorted(
        AgentPreferences.objects.filter(user_id__in=user_ids, notify_by_email=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
