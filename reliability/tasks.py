"""Celery entry points for reliability: the sweep that queues stranded work again."""

from celery import shared_task

from . import services


@shared_task
def requeue_stranded_work() -> dict[str, int]:
    return services.requeue_stranded_work()
