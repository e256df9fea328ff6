"""The Celery application. Without REDIS_URL, tasks run eagerly in the calling process."""

import gc
import os

from celery import Celery
from celery.signals import setup_logging, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parley.settings")

# Every task retries with backoff, then leaves a dead letter (reliability.celery_base).
app = Celery("parley", task_cls="reliability.celery_base:ReliableTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs) -> None:
    """Workers log through settings.LOGGING, redacting filter included, instead of the root
    handlers Celery would install in its place (connecting here stops Celery's own setup)."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@worker_process_init.connect
def freeze_what_the_pool_process_inherited(**kwargs) -> None:
    """A pool process starts with everything its worker loaded before forking (Django, the
    triage models): kept out of the garbage collector's full passes, as a web process keeps
    what its start-up built (parley.serving), so that none holds a storm's batch for a
    tenth of a second. Freezing moves them in one step, without touching each object (which
    would copy the shared pages)."""
    gc.freeze()


# The request id into tasks, and the workers' and beat's heartbeats (signal handlers).
import parley.observability  # noqa: E402, F401
