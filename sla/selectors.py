"""Reading SLA timers: the inbox countdowns, and the one definition of "at risk" and
"breached" that the inbox filter, the cockpit and its counts share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Case,
    CharField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from core.models import Conversation
from core.selectors import visible_conversations

from .models import SlaTimer, TimerState


def _breached_by(now: datetime) -> Q:
    return Q(state=TimerState.BREACHED) | Q(due_at__lte=now)


def _at_risk_by(now: datetime) -> Q:
    return Q(state=TimerState.AT_RISK) | Q(at_risk_at__lte=now)


def timer_state_at(now: datetime) -> Case:
    """A running timer's state at `now`, read from its due instants rather than from the
    stored state alone: the sweep stores a crossing up to a sweep period late (the exact
    checks need a worker), while a browser's countdown reads "overdue" at the second. So a
    timer whose due instant has passed is breached here at that second, as the inbox shows,
    and the sweep's alert follows."""
    return Case(
        When(_breached_by(now), then=Value(TimerState.BREACHED)),
        When(_at_risk_by(now), then=Value(TimerState.AT_RISK)),
        default=F("state"),
        output_field=CharField(),
    )


def _state_rank(now: datetime) -> Case:
    # Worst first: what a conversation's SLA state is when its timers disagree.
    return Case(
        When(_breached_by(now), then=Value(0)),
        When(_at_risk_by(now), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def with_sla(
    conversations: QuerySet[Conversation], *, now: datetime | None = None
) -> QuerySet[Conversation]:
    """Annotate `sla_due_at` (the nearest running due instant) and `sla_state` (the worst
    state of the running timers at `now`: breached, at_risk or ok; None without running
    timers), so the inbox can filter and sort on them: `.filter(sla_state="breached")`,
    `.order_by(F("sla_due_at").asc(nulls_last=True))`."""
    now = now or timezone.now()
    running = SlaTimer.objects.filter(conversation=OuterRef("pk"), stopped_at=None)
    return conversations.annotate(
        sla_due_at=Subquery(
            running.filter(due_at__isnull=False).order_by("due_at").values("due_at")[:1]
        ),
        sla_state=Subquery(
            running.annotate(rank=_state_rank(now), state_now=timer_state_at(now))
            .order_by("rank", "due_at")
            .values("state_now")[:1]
        ),
    )


def next_threshold_at(
    *, now: datetime, conversations: QuerySet[Conversation] | None = None
) -> datetime | None:
    """The next instant a running timer (of `conversations`, or any) turns at risk or
    breached: when a page showing SLA states must look again. Three LIMIT 1 reads in the
    order of the (state, at_risk_at) and (state, due_at) indexes, whatever the timers' number."""
    running = SlaTimer.objects.filter(stopped_at=None, paused_since=None)
    if conversations is not None:
        running = running.filter(conversation__in=conversations.values("pk"))
    upcoming = [
        running.filter(state=TimerState.OK, at_risk_at__gt=now)
        .order_by("at_risk_at")
        .values_list("at_risk_at", flat=True)
        .first(),
        *(
            running.filter(state=state, due_at__gt=now)
            .order_by("due_at")
            .values_list("due_at", flat=True)
            .first()
            for state in (TimerState.OK, TimerState.AT_RISK)
        ),
    ]
    upcoming = [instant for instant in upcoming if instant is not None]
    return min(upcoming) if upcoming else None


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
