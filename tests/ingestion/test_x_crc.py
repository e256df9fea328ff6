"""X's CRC endpoint must never sign what the delivery endpoint would accept (security, item 1).

The CRC answer is base64(HMAC(consumer secret, token)), exactly the signature X puts on a
delivery: an endpoint that answers any token is a signing oracle for forged deliveries.
"""

import json
import logging

import pytest
from django.core.cache import cache

from core.models import Post
from ingestion.models import WebhookDelivery
from tests.ingestion.conftest import payload
from tests.ingestion.test_webhooks import X_URL, post_x, x_signature

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def test_crc_endpoint_refuses_to_sign_a_json_body_so_it_cannot_be_forged_as_a_delivery(
    client, x_account, default_team, django_capture_on_commit_callbacks
):
    forged = json.dumps(payload("x_account_activity_tweet.json"), separators=(",", ":"))

    answer = client.get(X_URL, {"crc_token": forged})
    # What an attacker would send with the answer, had there been one.
    signature = answer.json()["response_token"] if answer.status_code == 200 else "sha256="
    with django_capture_on_commit_callbacks(execute=True):
        delivery = post_x(client, forged.encode(), signature)

    assert answer.status_code == 400
    assert "response_token" not in answer.content.decode()
    assert delivery.status_code == 403
    assert not WebhookDelivery.objects.exists()
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    "token",
    [
        "{}",
        '{"for_user_id":"1500000000"}',
        "a" * 129,
        "has spaces",
        "12345",  # parses as JSON: a number
        "true",
        "null",
        "ab+/cd",  # standard, not URL-safe, base64
        "ab\ncd",
    ],
)
def test_crc_endpoint_refuses_tokens_not_of_xs_form(client, x_account, token):
    response = client.get(X_URL, {"crc_token": token})

    assert response.status_code == 400
    assert "URL-safe base64" in response.content.decode()


@pytest.mark.parametrize(
    "token", ["ZmVjNzI0YTAtNzU5Zi00NjZiLWE2MjgtN2RlOTk3ZDJiZTc5", "c2VjcmV0_-==", "x" * 128]
)
def test_crc_endpoint_still_answers_xs_own_tokens(client, x_account, token):
    response = client.get(X_URL, {"crc_token": token})

    assert response.status_code == 200
    assert response.json() == {"response_token": x_signature(token.encode())}


def test_crc_refusals_are_logged(client, x_account, caplog):
    with caplog.at_level(logging.WARNING, logger="ingestion.webhooks"):
        client.get(X_URL, {"crc_token": '{"for_user_id":"1"}'})

    assert "refused to answer a CRC token" in caplog.text


def test_crc_endpoint_is_rate_limited_per_address(client, x_account, settings, caplog):
    settings.X_WEBHOOK_CRC_RATE = "3/m"

    answers = [client.get(X_URL, {"crc_token": "Y2hhbGxlbmdl"}).status_code for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="ingestion.webhooks"):
        refused = client.get(X_URL, {"crc_token": "Y2hhbGxlbmdl"})
    other_address = client.get(
        X_URL, {"crc_token": "Y2hhbGxlbmdl"}, REMOTE_ADDR="198.51.100.7"
    ).status_code

    assert answers == [200, 200, 200]
    assert refused.status_code == 429
    assert "over 3/m" in caplog.text
    assert other_address == 200
