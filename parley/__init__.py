"""The Parley project: settings, root URLs, ASGI, the Celery app, health, `serve` and the demo.

It knows every app; no app imports it (import-linter says so, see docs/architecture.md).
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
