"""Reading SLA timers for the inbox countdowns."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, IntegerField, OuterRef, QuerySet, Subquery, Value, When

from core.models import Conversation
from core.selectors import visible_conversations

from .models import SlaTimer, TimerState

# Worst first: what a conversation's SLA state is when its timers disagree.
_STATE_RANK = Case(
    When(state=TimerState.BREACHED, then=Value(0)),
    When(state=TimerState.AT_RISK, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def with_sla(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Annotate `sla_due_at` (the nearest running due instant) and `sla_state` (the worst
    state of the running timers: breached, at_risk or ok; None without running timers), so
    the inbox can filter and sort on them: `.filter(sla_state="breached")`,
    `.order_by(F("sla_due_at").asc(nulls_last=True))`."""
    running = SlaTimer.objects.filter(conversation=OuterRef("pk"), stopped_at=None)
    return conversations.annotate(
        sla_due_at=Subquery(
            running.filter(due_at__isnull=False).order_by("due_at").values("due_at")[:1]
        ),
        sla_state=Subquery(
            running.annotate(rank=_STATE_RANK).order_by("rank", "due_at").values("state")[:1]
        ),
    )


def timers_of(user: AbstractBaseUser, conversation_id: int) -> list[dict[str, Any]]:
    """The conversation's timers as JSON; raises SlaTimer.DoesNotExist if not visible.

    A browser counts down from `due_at` itself; a paused or stopped timer has none.
    """
    if not visible_conversations(user).filter(pk=conversation_id).exists():
        raise SlaTimer.DoesNotExist(conversation_id)
    return [
        {
            "kind": timer.kind,
            "label": timer.get_kind_display(),
            "state": timer.state,
            "due_at": _iso(timer.due_at),
            "at_risk_at": _iso(timer.at_risk_at),
            "paused": timer.paused_since is not None,
            "stopped_at": _iso(timer.stopped_at),
            "target_seconds": timer.target_seconds,
            "business_seconds": timer.business_seconds,
        }
        for timer in SlaTimer.objects.filter(conversation_id=conversation_id).order_by("kind")
    ]


def _iso(value) -> str | None:
    return value.isoformat() if value else None
