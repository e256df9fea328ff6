"""The three roles — agent, supervisor, admin — as Django groups with their permissions.

Kept in code and brought up to date after every migrate, so a new model's permissions reach
the right roles without a hand-written data migration each time.
"""

from __future__ import annotations

from django.apps import AppConfig, apps
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

AGENT = "Agent"
SUPERVISOR = "Supervisor"
ADMIN = "Admin"

PARLEY_APPS = ["core", "helpdesk", "ingestion", "triage", "routing", "sla", "reports"]

# Agents work conversations; they read templates but change no settings.
AGENT_PERMISSIONS = [
    "core.view_conversation",
    "core.change_conversation",
    "core.view_post",
    "core.view_customer",
    "core.view_note",
    "core.add_note",
    "core.view_replytemplate",
    "core.view_tag",
]
# Supervisors also see every team, get SLA alerts, and may read (not change) all settings.
SUPERVISOR_EXTRA = ["core.view_all_conversations", "sla.receive_team_alerts"]


def _permissions(names: list[str]) -> Q:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return query


def ensure_roles_after_migrate(*, app_config: AppConfig, **kwargs) -> None:
    """post_migrate fires once per app, in INSTALLED_APPS order; every app's permissions
    exist once the last one has fired."""
    if app_config.label == list(apps.get_app_configs())[-1].label:
        ensure_roles()


def ensure_roles() -> None:
    """Create or refresh the role groups."""
    agent, _ = Group.objects.get_or_create(name=AGENT)
    agent.permissions.set(Permission.objects.filter(_permissions(AGENT_PERMISSIONS)))

    supervisor, _ = Group.objects.get_or_create(name=SUPERVISOR)
    supervisor.permissions.set(
        Permission.objects.filter(
            _permissions(AGENT_PERMISSIONS + SUPERVISOR_EXTRA)
            | Q(
                content_type__app_label__in=[*PARLEY_APPS, "auditlog"], codename__startswith="view_"
            )
        )
    )

    admin, _ = Group.objects.get_or_create(name=ADMIN)
    admin.permissions.set(
        Permission.objects.filter(
            Q(content_type__app_label__in=PARLEY_APPS)
            | Q(content_type__app_label="auth", content_type__model__in=["user", "group"])
            | Q(content_type__app_label="auditlog", codename="view_logentry")
        )
    )
