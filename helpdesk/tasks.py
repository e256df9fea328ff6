"""Celery entry points of the core: thin wrappers over services."""

from celery import shared_task
from django.utils import timezone

from . import integrations, services


@shared_task
def process_inbound_post(post_id: int) -> None:
    services.process_inbound_post(post_id=post_id)


@shared_task
def deliver_integration_event(delivery_id: int) -> None:
    integrations.deliver(delivery_id=delivery_id)


@shared_task
def retry_integration_events() -> int:
    return integrations.retry_due(now=timezone.now())
