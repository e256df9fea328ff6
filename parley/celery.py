"""The Celery application. Without REDIS_URL, tasks run eagerly in the calling process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parley.settings")

# Every task retries with backoff, then leaves a dead letter (reliability.celery_base).
app = Celery("parley", task_cls="reliability.celery_base:ReliableTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
