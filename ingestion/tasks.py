"""Celery entry points for ingestion: thin wrappers that take ids and call services."""

from celery import shared_task

from . import services
from .models import PlatformAccount


@shared_task
def poll_all_accounts() -> None:
    for account_id in PlatformAccount.objects.filter(is_active=True).values_list("pk", flat=True):
        poll_account.delay(account_id)


@shared_task
def poll_account(account_id: int) -> int:
    return services.poll_account(account_id=account_id)


@shared_task
def deliver_reply(post_id: int) -> None:
    services.deliver_reply(post_id=post_id)
