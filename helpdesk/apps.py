from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Helpdesk"

    def ready(self) -> None:
        from . import lookups, socket_access
        from .roles import ensure_roles_after_migrate

        lookups.register()
        socket_access.connect()

        post_migrate.connect(ensure_roles_after_migrate, dispatch_uid="parley-ensure-roles")
