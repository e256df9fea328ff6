"""Celery entry points for triage: thin wrappers that take ids and call services."""

from celery import shared_task
from celery.signals import worker_init

from . import services
from .store import load_shipped


@worker_init.connect
def load_models_before_forking(**kwargs) -> None:
    """A worker forks its pool from this process: the shipped models read (and compiled) here
    are shared by every child instead of each child reading them on its first post, seconds
    into a storm. Trained models activated later still load in each child on first use."""
    for task in ("intent", "sentiment"):
        model = load_shipped(task)
        model.predict_proba(["warm up"])


@shared_task
def send_auto_reply(post_id: int) -> None:
    services.send_auto_reply(post_id=post_id)
