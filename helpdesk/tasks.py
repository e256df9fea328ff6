"""Celery entry points of the agents' side: thin wrappers over services."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def wake_snoozed_conversations() -> int:
    return len(services.wake_snoozed_conversations(now=timezone.now()))
