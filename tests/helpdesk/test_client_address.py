"""One client address, which no client can make up, for the login lock-out and the audit log
(security, item 4)."""

from __future__ import annotations

import io
import logging
import re

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from core.models import ConversationStatus
from tests.factories import AGENT_PASSWORD, ConversationFactory
from tests.served import request, served_app

pytestmark = pytest.mark.django_db(transaction=True)


def _login_form(app) -> tuple[str, str]:
    page = request(app, "GET", "/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return page.cookies["csrftoken"], token


def _login(app, cookie: str, token: str, username: str, password: str, forwarded_for: str):
    body = f"csrfmiddlewaretoken={token}&username={username}&password={password}".encode()
    return request(
        app,
        "POST",
        "/login/",
        body_chunks=[body],
        headers=[
            ("content-type", "application/x-www-form-urlencoded"),
            ("content-length", str(len(body))),
            ("cookie", f"csrftoken={cookie}"),
            ("x-forwarded-for", forwarded_for),
        ],
    )


def test_spoofed_x_forwarded_for_does_not_escape_the_login_lock_out(agent, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    app = served_app()
    cookie, token = _login_form(app)

    wrong = [
        _login(app, cookie, token, agent.username, "nope", f"203.0.113.{n}").status_code
        for n in range(12)
    ]
    right = _login(app, cookie, token, agent.username, AGENT_PASSWORD, "203.0.113.99")

    assert wrong[:4] == [200] * 4  # the form again, with its error
    # The fifth failure locks the username at this address, whatever the header says.
    assert set(wrong[4:]) == {429}
    assert right.status_code == 429
    assert "Too many failed logins" in right.text


def test_forwarded_address_is_believed_only_from_a_trusted_proxy(agent, settings):
    settings.AXES_ENABLED = True
    settings.TRUSTED_PROXY_IPS = ["127.0.0.1"]
    settings.AXES_FAILURE_LIMIT = 3
    app = served_app()
    cookie, token = _login_form(app)

    # Behind the proxy, each real client is its own: five addresses, one failure each.
    spread = [
        _login(app, cookie, token, agent.username, "nope", f"198.51.100.{n}").status_code
        for n in range(5)
    ]
    right = _login(app, cookie, token, agent.username, AGENT_PASSWORD, "198.51.100.77")

    assert spread == [200] * 5
    assert right.status_code == 302


def test_audit_log_records_the_peer_not_a_made_up_x_forwarded_for(client, agent):
    conversation = ConversationFactory(team=agent.agent_profile.teams.first())
    client.force_login(agent)

    client.post(
        reverse("conversation_status", args=[conversation.pk]),
        {"status": ConversationStatus.RESOLVED},
        HTTP_X_FORWARDED_FOR="6.6.6.6",
        HTTP_X_FORWARDED_PORT="31337",
    )

    entry = LogEntry.objects.get_for_object(conversation).latest("timestamp")
    assert entry.actor == agent
    assert entry.remote_addr == "127.0.0.1"
    assert entry.remote_port is None


def test_served_access_log_lines_are_redacted():
    served_app()  # installs uvicorn's handlers, as `serve` does
    handler = logging.getLogger("uvicorn.access").handlers[0]
    out = io.StringIO()
    previous = handler.setStream(out)
    try:
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/webhooks/meta/?hub.verify_token=letmein-SECRET&hub.challenge=1",
            "1.1",
            200,
        )
    finally:
        handler.setStream(previous)

    assert "/webhooks/meta/?hub.verify_token=[redacted]&hub.challenge=1" in out.getvalue()
    assert "letmein-SECRET" not in out.getvalue()


def test_deploy_check_warns_behind_a_tls_proxy_that_is_not_trusted(settings):
    from parley.client_address import check_proxy_is_trusted

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXY_IPS = []
    untrusted = check_proxy_is_trusted()
    settings.TRUSTED_PROXY_IPS = ["10.0.0.2"]
    trusted = check_proxy_is_trusted()

    assert [message.id for message in untrusted] == ["parley.W001"]
    assert trusted == []
