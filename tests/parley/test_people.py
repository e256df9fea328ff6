"""Inviting agents by e-mail (teams and role in one form, a set-password link) and the
agent's own profile page."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from core.models import AgentPreferences
from tests.factories import AGENT_PASSWORD, AgentFactory, TeamFactory

NEW_PASSWORD = "a-long-new-password-42"


@pytest.fixture
def admin_client(client, db):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def test_an_admin_invites_an_agent_who_sets_their_password_and_logs_in(
    admin_client, client, django_capture_on_commit_callbacks
):
    care = TeamFactory(name="Care")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("invite_agent"),
            {
                "email": "Jo@Example.com",
                "first_name": "Jo",
                "last_name": "Park",
                "teams": [care.pk],
                "role": "Supervisor",
            },
        )

    assert response.status_code == 302
    jo = get_user_model().objects.get(email="jo@example.com")
    assert (jo.username, jo.get_full_name(), jo.has_usable_password()) == (
        "jo@example.com",
        "Jo Park",
        False,
    )
    assert list(jo.groups.values_list("name", flat=True)) == ["Supervisor"]
    assert list(jo.agent_profile.teams.all()) == [care]
    (invitation,) = mail.outbox
    assert invitation.to == ["jo@example.com"]
    link = re.search(r"https?://\S+/invitation/\S+/", invitation.body).group(0)

    admin_client.logout()
    path = link.split("://", 1)[1].split("/", 1)[1]
    form_page = client.get("/" + path, follow=True)
    assert "Choose your password" in form_page.content.decode()
    set_password = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else "/" + path,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert set_password.status_code == 302 and set_password["Location"] == reverse("login")
    assert client.login(username="jo@example.com", password=NEW_PASSWORD)


def test_an_address_already_here_is_refused_and_agents_cannot_invite(admin_client, client):
    AgentFactory(email="dana@example.com")

    refused = admin_client.post(
        reverse("invite_agent"), {"email": "dana@example.com", "role": "Agent"}
    )
    agent = AgentFactory()
    client.force_login(agent)

    assert refused.status_code == 400
    assert "already here" in refused.content.decode()
    assert client.get(reverse("invite_agent")).status_code == 403


def test_an_agent_sets_their_name_signature_and_notifications(client, db):
    agent = AgentFactory()
    client.login(username=agent.username, password=AGENT_PASSWORD)

    page = client.get(reverse("profile"))
    saved = client.post(
        reverse("profile"),
        {
            "first_name": "Dana",
            "last_name": "Smith",
            "signature": "^Dana",
            "notify_in_page": "on",
            "notify_desktop": "on",
        },
    )

    assert page.status_code == 200 and "Your profile" in page.content.decode()
    assert saved.status_code == 302
    agent.refresh_from_db()
    preferences = AgentPreferences.objects.get(user=agent)
    assert agent.get_full_name() == "Dana Smith"
    assert (preferences.signature, preferences.notify_desktop, preferences.notify_by_email) == (
        "^Dana",
        True,
        False,
    )
