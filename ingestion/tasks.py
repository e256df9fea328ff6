"""Celery entry points for ingestion: thin wrappers that take ids and call services."""

import logging
import random

from celery import shared_task

from core.models import DeliveryStatus
from reliability.services import publish

from . import pipeline, profiles, retention, services, sweeps

logger = logging.getLogger(__name__)

MAX_REPLY_RETRIES = 6


@shared_task
def poll_all_accounts() -> None:
    """Beat entry: queue a poll for each account whose own interval has come round, and
    queue again the webhook deliveries and replies whose task was lost."""
    for account_id in services.accounts_due_for_polling():
        poll_account.delay(account_id)
    deliveries, replies = services.stranded_work()
    for delivery_id in deliveries:
        process_webhook_delivery.delay(delivery_id)
    for post_id in replies:
        deliver_reply.delay(post_id)


@shared_task
def poll_account(account_id: int) -> int:
    return services.poll_account(account_id=account_id)


# It drains (reliability.services.drain_started): a run takes every delivery waiting, so
# while one of its messages waits, deliveries committed behind it queue none of their own.
@shared_task(bind=True, drains=True)
def process_webhook_delivery(self, delivery_id: int) -> int:
    # The task's id names its claim on the deliveries it takes: redelivered after its worker
    # died, or retried, the task keeps its id and takes them back.
    return services.process_webhook_delivery(delivery_id=delivery_id, claim=self.request.id or "")


@shared_task(bind=True, max_retries=MAX_REPLY_RETRIES)
def deliver_reply(self, post_id: int) -> None:
    post = services.deliver_reply(post_id=post_id)
    if post.delivery_status != DeliveryStatus.PENDING:
        return
    if self.request.is_eager or self.request.retries >= MAX_REPLY_RETRIES:
        # No worker to come back later, or no retries left: the agent sees the reply failed,
        # with the platform's last answer, and can send it again.
        services.give_up_reply(post_id=post_id)
        return
    # Exponential backoff with jitter; the service checks the platform before resending.
    countdown = random.uniform(1, 2 ** (self.request.retries + 2))
    raise self.retry(countdown=countdown)


@shared_task
def look_up_profiles(account_id: int, customer_ids: list[int]) -> int:
    return profiles.look_up_profiles(account_id=account_id, customer_ids=customer_ids)


@shared_task
def process_inbound_post(post_id: int) -> None:
    pipeline.process_inbound_post(post_id=post_id)


@shared_task(bind=True)
def process_inbound_posts(self, post_ids: list[int]) -> None:
    """Process a stored batch together. If it fails, each post is queued on its own (with
    its own retries and dead letter), so one bad post never holds back the rest."""
    try:
        pipeline.process_inbound_posts(post_ids=post_ids)
    except Exception:
        if self.request.is_eager or len(post_ids) == 1:
            raise
        logger.exception("Processing %d posts together failed; queueing each alone", len(post_ids))
        for post_id in post_ids:
            publish(process_inbound_post, post_id)


@shared_task
def requeue_stranded_work() -> dict[str, int]:
    return sweeps.requeue_stranded_work()


@shared_task
def purge_processed_deliveries() -> int:
    return retention.purge_processed_deliveries()
