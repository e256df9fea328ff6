"""Deliveries over real HTTP to `manage.py serve` (two web processes, PostgreSQL, Redis), whose
signed POSTs take the fast path (parley.webhook_fast_path): a signed one-event delivery is
stored once and answered 200 with its request id and the security headers; a bad signature,
an oversized body and a Host not allowed are refused with their reasons, and store nothing."""

from __future__ import annotations

import http.client
import json

import pytest

from ingestion.models import WebhookDelivery
from parley.celery import app as celery_app
from tests.e2e.demo_server import free_port, stop
from tests.ingestion.test_webhook_storm import deliveries, serve
from tests.ingestion.test_webhooks import x_signature

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def post(
    port: int, body: bytes, headers: dict[str, str], *, declared: int | None = None
) -> tuple[int, dict[str, str], bytes]:
    """POST `body`; or, with `declared`, only the headers, announcing that many bytes (the
    server refuses a body too large on its Content-Length and closes the connection, which
    could break the pipe of a client still sending it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        if declared is None:
            connection.request("POST", "/webhooks/x/", body=body, headers=headers)
        else:
            connection.putrequest("POST", "/webhooks/x/")
            for name, value in {**headers, "Content-Length": str(declared)}.items():
                connection.putheader(name, value)
            connection.endheaders()
        response = connection.getresponse()
        return (
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


@pytest.fixture
def server(x_account, default_team, tmp_path):
    """The port of a running `serve`, and a function that stops it and returns its log."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    process = serve(port, log)

    def stopped() -> str:
        stop(process)
        log.close()
        return log_path.read_text(errors="replace")

    try:
        yield port, stopped
    finally:
        if process.poll() is None:
            stopped()
        celery_app.control.purge()


def test_a_signed_delivery_over_http_is_stored_once_and_refusals_say_why(server):
    served, stopped = server
    (body,) = deliveries(1)
    signed = {"Content-Type": "application/json", "X-Twitter-Webhooks-Signature": x_signature(body)}

    first = post(served, body, {**signed, "X-Request-ID": "x-delivery-0001"})
    again = post(served, body, signed)
    bad_signature = post(served, body.replace(b"storm_customer", b"forged_customer"), signed)
    oversized = post(served, b"", signed, declared=1024 * 1024 + 1)
    wrong_host = post(served, body, {**signed, "Host": "evil.example"})

    status, headers, text = first
    assert (status, text) == (200, b"")
    assert headers["x-request-id"] == "x-delivery-0001"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert again[0] == 200
    assert len(again[1]["x-request-id"]) == 32  # made up when the platform sends none
    assert bad_signature[0] == 403
    assert bad_signature[2] == b"Invalid x-twitter-webhooks-signature."
    assert oversized[0] == 413
    assert oversized[2] == b"Body larger than 1048576 bytes."
    assert wrong_host[0] == 400
    (stored,) = WebhookDelivery.objects.all()
    assert stored.body_text == body.decode()  # as signed, byte for byte
    assert stored.payload == json.loads(body)
    # The access log keeps the refusals, not the deliveries answered 200.
    access = [line for line in stopped().splitlines() if '"POST /webhooks/x/' in line]
    assert [line.split('" ')[1][:3] for line in access] == ["403", "413", "400"], access
