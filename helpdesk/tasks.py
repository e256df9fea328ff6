"""Celery entry points of the core: thin wrappers over services."""

import logging

from celery import shared_task
from django.utils import timezone

from reliability.services import publish

from . import integrations, services

logger = logging.getLogger(__name__)


@shared_task
def process_inbound_post(post_id: int) -> None:
    services.process_inbound_post(post_id=post_id)


@shared_task
def deliver_integration_event(delivery_id: int) -> None:
    integrations.deliver(delivery_id=delivery_id)


@shared_task
def retry_integration_events() -> int:
    return integrations.retry_due(now=timezone.now())


@shared_task(bind=True)
def process_inbound_posts(self, post_ids: list[int]) -> None:
    """Process a stored batch together. If it fails, each post is queued on its own (with
    its own retries and dead letter), so one bad post never holds back the rest."""
    try:
        services.process_inbound_posts(post_ids=post_ids)
    except Exception:
        if self.request.is_eager or len(post_ids) == 1:
            raise
        logger.exception("Processing %d posts together failed; queueing each alone", len(post_ids))
        for post_id in post_ids:
            publish(process_inbound_post, post_id)


@shared_task
def wake_snoozed_conversations() -> int:
    return len(services.wake_snoozed_conversations(now=timezone.now()))
