"""DRF throttling: the API per user (token or session) and per anonymous address, and the
public CSAT survey form per address — a 429 that says when to come back."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from core.models import ConversationStatus
from helpdesk.services import change_status
from reports.models import CsatSurvey
from tests.factories import AgentFactory, ConversationFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(monkeypatch):
    """Rates low enough to reach in a test (the defaults come from the settings)."""
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {"user": "3/minute", "anon": "2/minute", "csat": "2/minute"},
    )
    cache.clear()
    yield
    cache.clear()


def test_the_settings_rates_apply_by_default(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    assert rates == SimpleRateThrottle.THROTTLE_RATES
    assert set(rates) == {"user", "anon", "csat"}


def test_an_api_user_over_the_rate_gets_429_with_retry_after(client, agent, low_rates):
    token = Token.objects.create(user=agent)
    headers = {"HTTP_AUTHORIZATION": f"Token {token.key}"}

    statuses = [client.get("/api/teams/", **headers).status_code for _ in range(4)]
    refused = client.get("/api/teams/", **headers)

    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "throttled" in refused.json()["detail"].lower()


def test_each_user_has_their_own_allowance(client, agent, default_team, low_rates):
    other = AgentFactory(teams=[default_team])
    client.force_login(agent)
    for _ in range(3):
        client.get("/api/teams/")
    client.force_login(other)

    assert client.get("/api/teams/").status_code == 200


def test_the_csat_form_refuses_a_flood_from_one_address(client, low_rates):
    conversation = ConversationFactory()
    PostFactory(conversation=conversation, external_id="tweet-1")
    resolved = change_status(conversation_id=conversation.pk, status=ConversationStatus.RESOLVED)
    survey = CsatSurvey.objects.create(conversation=resolved, resolved_at=resolved.resolved_at)
    url = reverse("csat", args=[survey.token])

    page = client.get(url)
    answer = client.post(url, {"score": "5"})
    flood = client.post(url, {"score": "1"})
    elsewhere = client.get(url, REMOTE_ADDR="198.51.100.7")

    assert (page.status_code, answer.status_code) == (200, 200)
    assert flood.status_code == 429
    assert "try again in" in flood.content.decode()
    assert int(flood["Retry-After"]) > 0
    assert elsewhere.status_code == 200
    survey.refresh_from_db()
    assert survey.score == 5


def test_guessing_survey_tokens_is_throttled_too(client, low_rates):
    statuses = [client.get(reverse("csat", args=[f"guess-{n}"])).status_code for n in range(3)]

    assert statuses == [404, 404, 429]
