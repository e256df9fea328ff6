"""The base class of every Parley Celery task: Django's task class, Celery's own retries for
transient errors only, then a dead letter.

Tasks take ids and are idempotent, so running one again is always safe. A task that raises
one of `TRANSIENT_ERRORS` (a dropped database connection, a deadlock, the broker or a platform
out of reach, a `TransientError` a service raises for a platform's 429/5xx) is retried by
Celery (`autoretry_for`) with exponential backoff and full jitter (`retry_backoff`,
`retry_jitter`), at most RELIABILITY_RETRY_BACKOFF_MAX seconds apart, up to
RELIABILITY_TASK_MAX_RETRIES times. Anything else — a bug, a validation error, a row that is
gone — would fail the same way again: it fails at once. Either way `on_failure` then records a
`DeadLetter` an admin can inspect and replay. In eager mode (the embedded defaults, tests)
errors reach the caller unchanged: there is no worker to retry on, and the reliability sweep
queues the stored work again.

Being Django's task class (`celery.contrib.django.task.DjangoTask`), every task also has
`delay_on_commit` / `apply_async_on_commit`.
"""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
import requests
from celery.contrib.django.task import DjangoTask
from django.conf import settings
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)


class TransientError(Exception):
    """A failure worth retrying later: raise it (or subclass it) where only the caller can
    tell, such as a platform answering 429 or 5xx."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    # PostgreSQL gone, restarting, a deadlock or serialization failure (psycopg's errors
    # reach tasks wrapped as these).
    OperationalError,
    InterfaceError,
    # Redis or the broker out of reach while a task queues more work or broadcasts.
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    BrokerError,
    # A platform or endpoint out of reach.
    requests.ConnectionError,
    requests.Timeout,
    ConnectionError,
    TimeoutError,
)


class ReliableTask(DjangoTask):
    autoretry_for = TRANSIENT_ERRORS
    # Celery's exponential backoff: 2, 4, 8 ... seconds, each drawn at random below that
    # (full jitter), so a burst of failures does not come back all at once.
    retry_backoff = 2
    retry_jitter = True

    @property
    def max_retries(self) -> int:  # type: ignore[override]
        return settings.RELIABILITY_TASK_MAX_RETRIES

    @property
    def retry_backoff_max(self) -> int:
        return settings.RELIABILITY_RETRY_BACKOFF_MAX

    def retry(self, *args: Any, exc: BaseException | None = None, **kwargs: Any) -> Any:
        if self.request.is_eager and exc is not None:
            # Celery would run the task again at once, inside the caller; the caller hears of
            # the failure instead (the reliability sweep re-queues stored work).
            raise exc
        return super().retry(*args, exc=exc, **kwargs)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if self.request.is_eager:
            return
        # Not at the top: Celery imports this class (task_cls) before Django's apps are
        # ready, and the services import the DeadLetter model.
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
