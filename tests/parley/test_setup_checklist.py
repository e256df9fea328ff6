"""The admin index guides a new admin through the first hour, ticking steps off itself."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from core.models import Platform
from routing.models import RoutingRule
from sla.models import ServiceWindow
from tests.factories import AgentFactory, PlatformAccountFactory, TeamFactory


@pytest.fixture
def admin_client(client, db):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def steps(client) -> dict[str, str]:
    html = client.get(reverse("admin:index")).content.decode()
    return dict(re.findall(r'<li data-step="(\w+)" data-done="(true|false)">', html))


def test_a_fresh_install_shows_what_is_left_to_do(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    # The best-practice SLA policies come with the install; nothing else does.
    assert steps(admin_client) == {
        "account": "false",
        "windows": "false",
        "policy": "true",
        "routing": "false",
        "agents": "false",
    }
    assert "Set up Parley: 1 of 5 done" in html
    assert reverse("admin:sla_servicewindow_add") in html


def test_steps_tick_themselves_off_as_the_admin_does_them(admin_client):
    PlatformAccountFactory(platform=Platform.DEMO)  # the demo feed is not a real account
    assert steps(admin_client)["account"] == "false"

    PlatformAccountFactory(platform=Platform.TWITTER, handle="brand")
    ServiceWindow.objects.create(name="Office", platform=Platform.TWITTER)
    team = TeamFactory()
    RoutingRule.objects.create(name="Urgent", team=team)
    AgentFactory(teams=[team])

    assert set(steps(admin_client).values()) == {"true"}
    assert "Set up Parley: 5 of 5 done" in admin_client.get(reverse("admin:index")).content.decode()
