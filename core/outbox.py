"""Queueing the delivery of replies stored for the platforms.

Any stage may store an outbound post: an agent's reply, a triage auto-reply, an out-of-hours
note, a CSAT survey. Publishing it is ingestion's `deliver_reply` task, which stands above
the stages; they name the task rather than import it. A pending reply whose message is lost
(a broker outage) is sent later by the reliability sweep all the same.
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction

from reliability.services import publish

DELIVER_REPLY_TASK = "ingestion.tasks.deliver_reply"


def deliver_after_commit(post_id: int) -> None:
    """Queue publishing a stored pending reply once the caller's transaction commits. With
    the broker down nothing fails: the reliability sweep sends it later."""
    transaction.on_commit(lambda: publish(current_app.tasks[DELIVER_REPLY_TASK], post_id))
