from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """The domain every stage stands on: customers, conversations, posts, teams, agents."""

    name = "core"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from . import lookups, pg_arrays, pg_datetimes, turns
        from .roles import ensure_roles_after_migrate

        lookups.register()
        connection_created.connect(
            pg_arrays.on_connection_created, dispatch_uid="parley-plain-list-dumper"
        )
        connection_created.connect(
            pg_datetimes.on_connection_created, dispatch_uid="parley-c-timestamptz-loader"
        )
        turns.connect_signals()
        post_migrate.connect(ensure_roles_after_migrate, dispatch_uid="parley-ensure-roles")
