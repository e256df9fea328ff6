"""Celery entry points for triage: thin wrappers that take ids and call services."""

from celery import shared_task

from . import services


@shared_task
def send_auto_reply(post_id: int) -> None:
    services.send_auto_reply(post_id=post_id)
