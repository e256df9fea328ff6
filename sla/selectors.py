"""Reading SLA timers for the inbox countdowns."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from helpdesk.selectors import visible_conversations

from .models import SlaTimer


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
