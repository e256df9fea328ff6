"""Celery entry points of the core: the outbound integration webhooks."""

from celery import shared_task
from django.utils import timezone

from . import integrations


@shared_task
def deliver_integration_event(delivery_id: int) -> None:
    integrations.deliver(delivery_id=delivery_id)


@shared_task
def retry_integration_events() -> int:
    return integrations.retry_due(now=timezone.now())
