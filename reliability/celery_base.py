"""The base class of every Parley Celery task: retries with backoff, then a dead letter.

Tasks take ids and are idempotent, so running one again is always safe. A task that raises
is retried with exponential backoff and jitter up to `RELIABILITY_TASK_MAX_RETRIES` times;
after the last one `on_failure` records a `DeadLetter`. In eager mode (the embedded
defaults, tests) errors propagate to the caller unchanged: there is no worker to retry on.
"""

from __future__ import annotations

import logging
import random

from celery import Task
from celery.exceptions import Ignore, Reject, Retry

logger = logging.getLogger(__name__)


def retry_countdown(retries: int, *, ceiling: float) -> float:
    """Full jitter over an exponentially growing window: 2, 4, 8 … seconds, capped."""
    return random.uniform(1, min(ceiling, 2 ** (retries + 1)))


class ReliableTask(Task):
    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except (Retry, Ignore, Reject):
            raise
        except Exception as error:
            request = self.request
            if request.is_eager or request.called_directly:
                raise
            from django.conf import settings

            max_retries = settings.RELIABILITY_TASK_MAX_RETRIES
            if request.retries >= max_retries:
                raise
            countdown = retry_countdown(
                request.retries, ceiling=settings.RELIABILITY_RETRY_BACKOFF_MAX
            )
            logger.warning(
                "Task %s%s failed (%r); retry %d/%d in %.1fs",
                self.name,
                tuple(args),
                error,
                request.retries + 1,
                max_retries,
                countdown,
            )
            raise self.retry(exc=error, countdown=countdown, max_retries=max_retries) from error

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if self.request.is_eager:
            return
        from .services import record_dead_letter

        try:
            record_dead_letter(
                task_name=self.name,
                task_id=task_id or "",
                args=list(args or []),
                kwargs=dict(kwargs or {}),
                retries=self.request.retries,
                error=repr(exc),
                traceback=str(einfo or ""),
            )
        except Exception:
            # The database may be what failed; the log line is then the record.
            logger.exception("Could not record dead letter for %s%s", self.name, tuple(args or []))
