"""Celery entry points for SLA timers: thin, id-based and idempotent."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def sweep_sla_timers() -> dict:
    """The beat sweep, and the exact sweeps queued for the instants thresholds fall due: mark
    and alert every timer past a threshold. Idempotent."""
    result = services.sweep_timers(now=timezone.now())
    return {"at_risk": result.at_risk, "breached": result.breached}


@shared_task
def recompute_active_timers() -> int:
    """After a policy or service window edit: move every running timer's thresholds."""
    return services.recompute_active_timers(at=timezone.now())
