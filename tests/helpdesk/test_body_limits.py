"""Bodies over their route's limit are refused before they are read (security, item 5),
through the application as `manage.py serve` serves it."""

from __future__ import annotations

import logging

import pytest

from ingestion.models import WebhookDelivery
from tests.served import request, served_app

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
ONE_MIB = b"x" * MIB


def test_a_declared_100_mib_webhook_body_is_refused_before_a_byte_is_read(caplog):
    chunks = [ONE_MIB] * 100
    app = served_app()

    with caplog.at_level(logging.WARNING, logger="parley.body_limits"):
        answer = request(
            app,
            "POST",
            "/webhooks/meta/",
            body_chunks=chunks,
            headers=[("content-type", "application/json"), ("content-length", str(100 * MIB))],
        )

    assert answer.status_code == 413
    assert answer.text == "Body larger than 1048576 bytes."
    assert answer.chunks_unread == 100
    assert "declared 104857600 bytes" in caplog.text
    assert not WebhookDelivery.objects.exists()


def test_a_streamed_100_mib_webhook_body_without_length_is_cut_off_at_the_limit():
    chunks = [ONE_MIB] * 100

    answer = request(
        served_app(),
        "POST",
        "/webhooks/meta/",
        body_chunks=chunks,
        headers=[("content-type", "application/json"), ("transfer-encoding", "chunked")],
    )

    assert answer.status_code == 413
    # The first MiB is within the limit, the second passes it: nothing after is read.
    assert answer.chunks_unread == 98
    assert not WebhookDelivery.objects.exists()


def test_forms_and_api_have_a_smaller_limit_than_webhooks(settings):
    settings.MAX_REQUEST_BODY_BYTES = 64 * 1024
    body = b"username=a&password=" + b"p" * (100 * 1024)
    app = served_app()

    login = request(
        app,
        "POST",
        "/login/",
        body_chunks=[body],
        headers=[
            ("content-type", "application/x-www-form-urlencoded"),
            ("content-length", str(len(body))),
        ],
    )
    api = request(
        app,
        "POST",
        "/api/conversations/1/reply/",
        body_chunks=[body[: 32 * 1024], body[32 * 1024 :]],
        headers=[("content-type", "application/json")],
    )
    webhook = request(
        app,
        "POST",
        "/webhooks/meta/",
        body_chunks=[body],
        headers=[("content-type", "application/json"), ("content-length", str(len(body)))],
    )

    assert login.status_code == 413
    assert api.status_code == 413
    assert webhook.status_code == 403  # within the webhook limit: on to the signature check


def test_a_content_length_that_is_not_a_number_is_a_400():
    answer = request(
        served_app(),
        "POST",
        "/webhooks/x/",
        body_chunks=[b"{}"],
        headers=[("content-type", "application/json"), ("content-length", "12abc")],
    )

    assert answer.status_code == 400
