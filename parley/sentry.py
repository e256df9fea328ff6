"""Errors to Sentry (or a compatible service) when SENTRY_DSN is set.

Called from the settings module, so it imports nothing of Django's at module level.
"""

from __future__ import annotations

from typing import Any


def init_sentry(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    """Report unhandled errors of requests and Celery tasks to Sentry.

    No personal data is sent (no user e-mail, cookies or bodies), and each event's messages
    pass through `scrub_event` first.
    """
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=scrub_event,
    )


def scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """A Sentry event with the secrets in its messages and exception values redacted, and
    the request id as a tag (to find the request's log lines)."""
    from django_guid import get_guid

    from reliability.redaction import redact

    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = redact(exception["value"])
    message = event.get("logentry") or {}
    for key in ("message", "formatted"):
        if isinstance(message.get(key), str):
            message[key] = redact(message[key])
    request_id = get_guid()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event
