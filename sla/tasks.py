"""Celery entry points for SLA timers: thin, id-based and idempotent."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def sweep_sla_timers() -> dict:
    """The beat sweep: mark and alert every timer past a threshold."""
    result = services.sweep_timers(now=timezone.now())
    return {"at_risk": result.at_risk, "breached": result.breached}


@shared_task
def check_sla_timer(timer_id: int) -> str | None:
    """The exact check scheduled (eta) at a timer's at-risk or due instant.

    A check for a timer that has since been paused, stopped or moved does nothing.
    """
    return services.escalate_timer(timer_id=timer_id, now=timezone.now())


@shared_task
def recompute_active_timers() -> int:
    """After a policy or service window edit: move every running timer's thresholds."""
    return services.recompute_active_timers(at=timezone.now())
