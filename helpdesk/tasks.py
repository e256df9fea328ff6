"""Celery entry points of the core: thin wrappers over services."""

from celery import shared_task

from . import services


@shared_task
def process_inbound_post(post_id: int) -> None:
    services.process_inbound_post(post_id=post_id)
