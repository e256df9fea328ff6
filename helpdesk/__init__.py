"""Parley's core: the project (settings, URLs, ASGI, Celery), the domain models every stage
shares, and the agents' UI."""

from .celery import app as celery_app

__all__ = ["celery_app"]
