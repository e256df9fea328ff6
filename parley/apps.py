from django.apps import AppConfig, apps


class ParleyConfig(AppConfig):
    """The project: settings, root URLs, ASGI, Celery, health, the embedded server and demo."""

    name = "parley"
    verbose_name = "Parley"

    def ready(self) -> None:
        from . import (
            agent_locale,  # noqa: F401  (keeps the agent's locale at login)
            client_address,  # noqa: F401  (registers its deploy check)
        )
        from .celery import app

        # Register every app's tasks in every process now, not when a worker starts: the
        # stages queue some tasks by name (core.outbox) rather than import the app above.
        app.autodiscover_tasks([config.name for config in apps.get_app_configs()], force=True)
