"""Roles decide who may change settings; the audit log records who did, and cannot be edited."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.test import APIClient

from core import roles
from core.models import ConversationStatus
from helpdesk.services import change_status
from ingestion.models import PlatformAccount
from routing.models import RoutingRule
from routing.services import assign_conversation
from tests.factories import AgentFactory, ConversationFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _in_role(role: str, **user_fields):
    user = AgentFactory(**user_fields)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_roles_exist_after_migrate_with_their_permissions():
    agent = _in_role(roles.AGENT)
    supervisor = _in_role(roles.SUPERVISOR)
    admin = _in_role(roles.ADMIN)

    assert agent.has_perm("core.add_note")
    assert not agent.has_perm("core.view_all_conversations")
    assert not agent.has_perm("routing.change_routingrule")
    assert supervisor.has_perm("core.view_all_conversations")
    assert supervisor.has_perm("routing.view_routingrule")
    assert not supervisor.has_perm("routing.change_routingrule")
    assert admin.has_perm("routing.change_routingrule")
    assert admin.has_perm("ingestion.change_platformaccount")


def test_agent_cannot_open_the_settings_admin(client):
    agent = _in_role(roles.AGENT)
    client.force_login(agent)

    response = client.get("/admin/routing/routingrule/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_supervisor_reads_settings_but_cannot_change_them(client):
    supervisor = _in_role(roles.SUPERVISOR, is_staff=True)
    rule = RoutingRule.objects.create(name="VIP", team=TeamFactory())
    client.force_login(supervisor)

    assert client.get("/admin/routing/routingrule/").status_code == 200
    response = client.post(
        f"/admin/routing/routingrule/{rule.pk}/change/", {"name": "Hijacked", "position": 0}
    )

    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.name == "VIP"


def test_admin_changes_a_rule_and_the_audit_log_records_who_and_from_where(client):
    admin = _in_role(roles.ADMIN, is_staff=True)
    team = TeamFactory()
    rule = RoutingRule.objects.create(name="VIP", team=team)
    client.force_login(admin)

    response = client.post(
        f"/admin/routing/routingrule/{rule.pk}/change/",
        {"name": "VIP customers", "position": 5, "is_active": "on", "team": team.pk},
        REMOTE_ADDR="203.0.113.7",
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = LogEntry.objects.get_for_object(rule).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == admin
    assert entry.remote_addr == "203.0.113.7"
    assert entry.changes_dict["name"] == ["VIP", "VIP customers"]


def test_supervisor_sees_every_teams_conversations_in_the_api():
    supervisor = _in_role(roles.SUPERVISOR)
    elsewhere = ConversationFactory(team=TeamFactory())
    api = APIClient()
    api.force_authenticate(supervisor)

    ids = [c["id"] for c in api.get("/api/conversations/").data["results"]]

    assert ids == [elsewhere.pk]


def test_assignment_and_status_changes_are_audited(default_team, agent):
    conversation = ConversationFactory(team=default_team)

    assign_conversation(conversation_id=conversation.pk, agent=agent, expected_assignee_id=None)
    change_status(conversation_id=conversation.pk, status=ConversationStatus.RESOLVED)

    changes = [
        entry.changes_dict for entry in LogEntry.objects.get_for_object(conversation).order_by("pk")
    ]
    assert {"assignee"} <= set(changes[-2])
    assert changes[-1]["status"] == ["new", "resolved"]


def test_rotated_credentials_are_audited_masked():
    account = PlatformAccount.objects.create(
        platform="twitter", handle="acme", credentials={"bearer_token": "old-secret"}
    )

    account.credentials = {"bearer_token": "new-secret"}
    account.save()

    entry = LogEntry.objects.get_for_object(account).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.changes_dict["credentials"] == ["[redacted]", "[redacted]"]


def test_audit_entries_cannot_be_edited_or_deleted_in_the_admin(client):
    admin = AgentFactory(is_staff=True, is_superuser=True)
    RoutingRule.objects.create(name="x", team=TeamFactory())
    entry = LogEntry.objects.latest("pk")
    client.force_login(admin)

    assert client.get(f"/admin/auditlog/logentry/{entry.pk}/change/").status_code == 200
    client.post(f"/admin/auditlog/logentry/{entry.pk}/change/", {"changes": "{}"})
    assert (
        client.post(f"/admin/auditlog/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.changes_dict["name"][1] == "x"


def test_platform_tokens_are_encrypted_at_rest():
    account = PlatformAccount.objects.create(
        platform="twitter", handle="acme", credentials={"bearer_token": "s3cret-token"}
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM ingestion_platformaccount WHERE id = %s", [account.pk]
        )
        stored = cursor.fetchone()[0]

    assert "s3cret" not in stored
    assert PlatformAccount.objects.get(pk=account.pk).credentials == {
        "bearer_token": "s3cret-token"
    }


def test_a_rotated_encryption_key_still_reads_old_rows(settings):
    from cryptography.fernet import Fernet

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    account = PlatformAccount.objects.create(
        platform="twitter", handle="acme", credentials={"bearer_token": "t"}
    )

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    assert PlatformAccount.objects.get(pk=account.pk).credentials == {"bearer_token": "t"}
