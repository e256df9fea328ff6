"""Signed webhook POSTs are answered by the server's fast path (parley.webhook_fast_path)
exactly as Django's webhook handler answers them: same status, body and headers, the
delivery stored once, the request id and the metrics kept; what the fast path does not
handle reaches the handler unchanged."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import replace
from timeit import default_timer

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families

from core.models import Platform
from ingestion.models import WebhookDelivery
from parley import webhook_fast_path
from parley.body_limits import BodySizeLimitMiddleware
from parley.webhook_handler import WebhookASGIHandler
from tests.ingestion.conftest import payload
from tests.ingestion.test_webhooks import meta_signature, x_signature
from tests.served import request, served_app

pytestmark = pytest.mark.django_db(transaction=True)


def _x_body(number: int, **extra) -> bytes:
    body = payload("x_account_activity_tweet.json")
    tweet = body["tweet_create_events"][0]
    tweet["id"] = 1_960_000_000_000_000_000 + number
    tweet["id_str"] = str(tweet["id"])
    body.update(extra)
    return json.dumps(body).encode()


def _meta_body(marker: int, kind: str = "page") -> bytes:
    body = payload("meta_feed_webhook.json")
    body["entry"][0]["time"] = marker
    body["object"] = kind
    return json.dumps(body).encode()


@pytest.fixture
def handled_by_django(monkeypatch):
    """Records the requests the fast path hands to Django's webhook handler."""
    handed = []
    fallback = WebhookASGIHandler.__call__

    async def recorded(self, scope, receive, send):
        handed.append((scope["method"], scope["path"]))
        await fallback(self, scope, receive, send)

    monkeypatch.setattr(WebhookASGIHandler, "__call__", recorded)
    return handed


def _django_only():
    """The webhook handler as it served every delivery before the fast path."""
    return BodySizeLimitMiddleware(WebhookASGIHandler())


def _comparable(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name != "x-request-id"}


X = ("/webhooks/x/", "x-twitter-webhooks-signature", x_signature)
META = ("/webhooks/meta/", "x-hub-signature-256", meta_signature)

CASES = [
    pytest.param(X, lambda n: _x_body(n), True, id="x-signed"),
    pytest.param(META, lambda n: _meta_body(n), True, id="meta-signed"),
    pytest.param(X, lambda n: _x_body(n), False, id="x-bad-signature"),
    pytest.param(META, lambda n: _meta_body(n), False, id="meta-bad-signature"),
    pytest.param(X, lambda n: b'{"for_user_id": ', True, id="x-malformed-json"),
    pytest.param(X, lambda n: b"[1, 2]", True, id="x-not-an-object"),
    pytest.param(X, lambda n: json.dumps({"n": n}).encode(), True, id="x-not-account-activity"),
    pytest.param(
        X,
        lambda n: json.dumps({"replay_job_status": {"job_id": str(n)}}).encode(),
        True,
        id="x-replay-status",
    ),
    pytest.param(META, lambda n: _meta_body(n, "whatsapp"), True, id="meta-unsupported-object"),
]


@pytest.mark.parametrize(("route", "make_body", "signed"), CASES)
def test_the_fast_path_answers_a_post_as_djangos_handler_does(
    route, make_body, signed, x_account, facebook_page, handled_by_django
):
    path, header, sign = route
    app = served_app()

    def post(target, number):
        body = make_body(number)
        signature = sign(body) if signed else sign(body, "not-the-secret")
        return request(
            target,
            "POST",
            path,
            body_chunks=[body],
            headers=[("content-type", "application/json"), (header, signature)],
        )

    fast = post(app, 1)
    assert handled_by_django == []  # answered by the fast path
    django = post(_django_only(), 2)

    assert (fast.status_code, fast.body) == (django.status_code, django.body)
    assert _comparable(fast.headers) == _comparable(django.headers)
    # Made up when the platform sends none, as django-guid makes them: a version 4 UUID's hex.
    made_up = fast.headers["x-request-id"]
    assert (uuid.UUID(made_up).hex, uuid.UUID(made_up).version) == (made_up, 4)
    assert made_up != django.headers["x-request-id"]


def test_a_signed_delivery_is_stored_once_and_answered_with_the_request_id(
    x_account, handled_by_django
):
    app = served_app()
    body = _x_body(7)
    headers = [
        ("content-type", "application/json"),
        ("x-twitter-webhooks-signature", x_signature(body)),
        ("x-request-id", "platform-req-7"),
    ]

    answers = [
        request(app, "POST", "/webhooks/x/", body_chunks=[body], headers=headers) for _ in range(2)
    ]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].headers["x-request-id"] == "platform-req-7"
    assert answers[0].headers["x-content-type-options"] == "nosniff"
    assert answers[0].headers["referrer-policy"] == "same-origin"
    delivery = WebhookDelivery.objects.get()
    assert delivery.platform == Platform.TWITTER
    assert delivery.body_text == body.decode()  # stored as signed, byte for byte
    assert delivery.payload["tweet_create_events"][0]["id_str"] == "1960000000000000007"
    assert handled_by_django == []


def test_a_body_sent_in_chunks_is_read_whole(x_account, handled_by_django):
    body = _x_body(8)
    answer = request(
        served_app(),
        "POST",
        "/webhooks/x/",
        body_chunks=[body[:10], body[10:200], body[200:]],
        headers=[("x-twitter-webhooks-signature", x_signature(body))],
    )

    assert answer.status_code == 200
    assert WebhookDelivery.objects.count() == 1
    assert handled_by_django == []


def test_behind_tls_the_answer_carries_hsts_as_djangos_does(x_account, settings, handled_by_django):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    body = _x_body(9)
    headers = [
        ("x-twitter-webhooks-signature", x_signature(body)),
        ("x-forwarded-proto", "https"),
    ]

    fast = request(served_app(), "POST", "/webhooks/x/", body_chunks=[body], headers=headers)
    django = request(_django_only(), "POST", "/webhooks/x/", body_chunks=[body], headers=headers)

    assert fast.headers["strict-transport-security"] == "max-age=3600"
    assert _comparable(fast.headers) == _comparable(django.headers)
    assert handled_by_django == [("POST", "/webhooks/x/")]  # the second request only


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        pytest.param("GET", "/webhooks/x/", [], id="x-crc-get"),
        pytest.param("PUT", "/webhooks/x/", [], id="wrong-method"),
        pytest.param("POST", "/webhooks/x", [], id="no-trailing-slash"),
        pytest.param("POST", "/webhooks/x/", [("host", "evil.example")], id="host-not-allowed"),
        pytest.param(
            "POST",
            "/webhooks/x/",
            [("x-twitter-webhooks-signature", "a"), ("x-twitter-webhooks-signature", "b")],
            id="repeated-header",
        ),
    ],
)
def test_what_the_fast_path_does_not_handle_goes_to_django(
    method, path, headers, x_account, handled_by_django
):
    answer = request(served_app(), method, path, body_chunks=[b"{}"], headers=headers)
    django = request(_django_only(), method, path, body_chunks=[b"{}"], headers=headers)

    assert handled_by_django == [(method, path)] * 2
    assert (answer.status_code, answer.body) == (django.status_code, django.body)


def test_a_host_not_allowed_is_refused_with_djangos_400(x_account, handled_by_django):
    body = _x_body(10)
    answer = request(
        served_app(),
        "POST",
        "/webhooks/x/",
        body_chunks=[body],
        headers=[("host", "evil.example"), ("x-twitter-webhooks-signature", x_signature(body))],
    )

    assert answer.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_an_error_while_storing_hands_the_delivery_to_django(
    x_account, monkeypatch, handled_by_django, caplog
):
    async def broken(delivery):
        raise RuntimeError("database away")

    monkeypatch.setattr(webhook_fast_path, "store_delivery", broken)
    body = _x_body(11)

    answer = request(
        served_app(),
        "POST",
        "/webhooks/x/",
        body_chunks=[body],
        headers=[("x-twitter-webhooks-signature", x_signature(body))],
    )

    # Django's view stored it, from the body the fast path had read.
    assert answer.status_code == 200
    assert handled_by_django == [("POST", "/webhooks/x/")]
    assert WebhookDelivery.objects.count() == 1
    assert "handing the delivery to Django" in caplog.text


def _sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_fast_path_requests_are_counted_in_djangos_request_metrics(facebook_page):
    view = {"view": "ingestion:meta-webhook", "method": "POST"}
    before = (
        _sample("django_http_requests_before_middlewares_total"),
        _sample(
            "django_http_requests_total_by_view_transport_method_total", transport="http", **view
        ),
        _sample("django_http_responses_total_by_status_view_method_total", status="200", **view),
        _sample("django_http_requests_latency_seconds_by_view_method_count", **view),
    )
    body = _meta_body(12)

    answer = request(
        served_app(),
        "POST",
        "/webhooks/meta/",
        body_chunks=[body],
        headers=[("x-hub-signature-256", meta_signature(body))],
    )

    assert answer.status_code == 200
    after = (
        _sample("django_http_requests_before_middlewares_total"),
        _sample(
            "django_http_requests_total_by_view_transport_method_total", transport="http", **view
        ),
        _sample("django_http_responses_total_by_status_view_method_total", status="200", **view),
        _sample("django_http_requests_latency_seconds_by_view_method_count", **view),
    )
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 1]


def test_a_batch_of_observations_fills_a_histogram_as_observing_each_does():
    registry = CollectorRegistry()
    buckets = (0.01, 0.1, 1.0, 10.0)
    one_by_one = Histogram("one_by_one", "", buckets=buckets, registry=registry)
    batched = Histogram("batched", "", buckets=buckets, registry=registry)
    # Below, on and between the bounds, and past the last one (+Inf).
    amounts = [0.0, 0.005, 0.01, 0.0100001, 0.1, 0.5, 1.0, 3.0, 10.0, 10.5, 1e9, 0.5, 0.5]

    for amount in amounts:
        one_by_one.observe(amount)
    webhook_fast_path._observe_each(batched, amounts)

    def samples(name: str) -> dict:
        return {
            (sample.name.removeprefix(name), tuple(sorted(sample.labels.items()))): sample.value
            for family in registry.collect()
            if family.name == name
            for sample in family.samples
            if not sample.name.endswith("_created")
        }

    assert samples("batched") == samples("one_by_one")
    assert samples("batched")[("_bucket", (("le", "+Inf"),))] == len(amounts)


def test_a_scrape_counts_a_request_answered_in_the_event_loops_current_turn(client):
    """The fast path's request metrics are recorded at the end of the event loop's turn;
    /metrics takes in what is noted before then."""
    view = {"view": "ingestion:x-webhook", "method": "POST"}
    counted = "django_http_requests_latency_seconds_by_view_method_count"
    before = _sample(counted, **view)
    noted, scraped = threading.Event(), threading.Event()

    def answer_and_hold_the_turn() -> None:
        webhook_fast_path._metrics().record(
            view="ingestion:x-webhook",
            secure=False,
            status=200,
            request_bytes=100,
            response_bytes=0,
            began=default_timer(),
        )
        noted.set()
        scraped.wait(timeout=10)

    loop = asyncio.new_event_loop()
    serving = threading.Thread(target=loop.run_forever)
    serving.start()
    try:
        loop.call_soon_threadsafe(answer_and_hold_the_turn)
        assert noted.wait(timeout=10)
        response = client.get("/metrics")
    finally:
        scraped.set()
        loop.call_soon_threadsafe(loop.stop)
        serving.join(timeout=10)
        loop.close()

    assert response.status_code == 200
    scraped_counts = {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name == counted
    }
    assert scraped_counts[tuple(sorted(view.items()))] == before + 1


def test_a_request_id_made_up_in_django_guids_string_format_is_a_dashed_uuid4(monkeypatch):
    config = webhook_fast_path._settings()
    monkeypatch.setattr(
        webhook_fast_path,
        "_config",
        replace(config, request_id_as_string=True, request_id_length=36),
    )
    made_up = {webhook_fast_path._new_request_id() for _ in range(3)}
    assert len(made_up) == 3
    assert {str(uuid.UUID(made)) for made in made_up} == made_up
    assert {uuid.UUID(made).version for made in made_up} == {4}
