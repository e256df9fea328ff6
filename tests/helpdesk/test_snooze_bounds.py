"""Nobody hides a conversation for good: snoozes are bounded and audited (security, item 6)."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import Conversation
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(agent):
    client = APIClient()
    client.force_login(agent)
    return client


@pytest.fixture
def conversation(default_team):
    return ConversationFactory(team=default_team)


def test_a_far_future_snooze_is_refused(api, conversation):
    answer = api.post(
        f"/api/conversations/{conversation.pk}/status/",
        {"status": conversation.status, "snooze_until": "9999-12-31T00:00:00Z"},
        format="json",
    )

    assert answer.status_code == 400
    assert answer.json() == {"detail": ["A conversation can be snoozed for 30 days at most."]}
    assert Conversation.objects.get(pk=conversation.pk).snoozed_until is None


def test_the_longest_snooze_follows_the_setting(api, conversation, settings):
    settings.SNOOZE_MAX_DAYS = 2
    url = f"/api/conversations/{conversation.pk}/status/"
    now = timezone.now()

    within = api.post(
        url,
        {"status": conversation.status, "snooze_until": now + timedelta(days=1, hours=23)},
        format="json",
    )
    beyond = api.post(
        url, {"status": conversation.status, "snooze_until": now + timedelta(days=3)}, format="json"
    )

    assert within.status_code == 200
    assert beyond.status_code == 400


def test_snoozing_is_in_the_audit_log_with_who_and_until_when(api, agent, conversation):
    until = timezone.now() + timedelta(days=3)

    api.post(
        f"/api/conversations/{conversation.pk}/status/",
        {"status": conversation.status, "snooze_until": until.isoformat()},
        format="json",
    )

    entry = LogEntry.objects.get_for_object(conversation).latest("timestamp")
    assert entry.actor == agent
    assert "snoozed_until" in entry.changes_dict
    assert entry.changes_dict["snoozed_until"][0] is None
    assert entry.changes_dict["snoozed_until"][1].startswith(until.strftime("%Y-%m-%d %H:%M"))


def test_a_snoozed_conversation_is_found_by_status_in_the_all_view(client, conversation):
    from tests.factories import AgentFactory

    supervisor = AgentFactory(teams=[])
    supervisor.is_superuser = True
    supervisor.save()
    Conversation.objects.filter(pk=conversation.pk).update(
        snoozed_until=timezone.now() + timedelta(days=20)
    )
    client.force_login(supervisor)

    found = client.get("/inbox/", {"view": "all", "status": conversation.status})

    assert f"/conversations/{conversation.pk}/" in found.content.decode()
