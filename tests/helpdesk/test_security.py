"""Security headers, login rate limiting and the API schema."""

import re
from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from tests.factories import AGENT_PASSWORD

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get(reverse("login"))

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_may_connect_only_to_their_own_origin(client):
    response = client.get(reverse("login"))

    policy = response["Content-Security-Policy"]
    directives = {
        part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()
    }
    assert directives["connect-src"] == "'self'"


def test_repeated_wrong_passwords_lock_the_login(client, agent, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    wrong = {"username": agent.username, "password": "nope"}

    for _ in range(3):
        client.post(reverse("login"), wrong)
    locked = client.post(reverse("login"), {"username": agent.username, "password": AGENT_PASSWORD})

    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_page_says_how_long(client, agent, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)

    for _ in range(4):
        locked = client.post(reverse("login"), {"username": agent.username, "password": "nope"})

    text = locked.content.decode()
    assert "After 3 wrong passwords this login is locked: try again in 15 minutes" in text
    assert "for a while" not in text


def test_a_right_password_logs_in_through_the_rate_limiter(client, agent, settings):
    settings.AXES_ENABLED = True

    response = client.post(
        reverse("login"), {"username": agent.username, "password": AGENT_PASSWORD}
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(agent.pk)


def test_openapi_schema_validates_and_names_the_endpoints(tmp_path):
    path = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))

    schema = yaml.safe_load(path.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/conversations/{id}/reply/" in schema["paths"]


def test_api_docs_page_serves_without_a_cdn(client, agent):
    client.force_login(agent)

    page = client.get(reverse("api-docs")).content.decode()

    assert "swagger-ui" in page
    # Nothing loaded from another host ("cdn" alone also matched a random CSRF token).
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
