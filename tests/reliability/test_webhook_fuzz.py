"""Hostile input at the webhook endpoints: forged and replayed signatures, malformed JSON,
huge bodies, wrong types, deep nesting, invalid UTF-8. Always a 4xx with a message or a 2xx,
never a 5xx; nothing stored from a forged delivery; processing never crashes.

Each test prints how many cases hypothesis ran.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Post
from ingestion.models import WebhookDelivery
from tests.ingestion.conftest import META_APP_SECRET, X_ACCOUNT_ID, X_CONSUMER_SECRET, payload
from tests.ingestion.test_webhooks import meta_signature, post_meta, post_x, x_signature

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
cases: Counter[str] = Counter()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=15,
)
# Shapes near the real ones with wrong types inside, so the parsers get past the first key.
x_shaped = st.fixed_dictionaries(
    {"for_user_id": st.just(X_ACCOUNT_ID) | json_values},
    optional={
        "tweet_create_events": json_values
        | st.lists(st.dictionaries(st.sampled_from(["id_str", "user", "text"]), json_values)),
        "direct_message_events": json_values,
        "users": json_values,
    },
)
meta_shaped = st.fixed_dictionaries(
    {"object": st.sampled_from(["page", "instagram"]) | json_values},
    optional={
        "entry": json_values
        | st.lists(
            st.fixed_dictionaries(
                {"id": json_values, "changes": json_values, "messaging": json_values}
            )
        )
    },
)
hostile_text = st.sampled_from(
    [
        "",
        "{",
        "[1,2",
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"text": "\\u0000"}',
        '{"text": "\\ud800"}',
        "null",
        "[]",
        '"just a string"',
        "1e999999",
        "[" * 5000 + "]" * 5000,
        '{"a":' * 3000 + "1" + "}" * 3000,
    ]
)
invalid_utf8 = st.binary(min_size=1, max_size=200).filter(lambda b: not _is_utf8(b))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def bodies(shaped):
    return st.one_of(
        shaped.map(lambda value: json.dumps(value).encode()),
        json_values.map(lambda value: json.dumps(value).encode()),
        hostile_text.map(str.encode),
        invalid_utf8,
        st.binary(max_size=300),
    )


def _report(capsys, name: str) -> None:
    with capsys.disabled():
        print(f"\n[fuzz] {name}: {cases[name]} cases run")


def _assert_clear_answer(response) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response.content.strip(), "a refusal says why"


@override_settings(X_CONSUMER_SECRET=X_CONSUMER_SECRET)
def test_signed_hostile_x_bodies_get_a_clear_answer_and_never_crash_processing(
    client, x_account, default_team, django_capture_on_commit_callbacks, capsys
):
    @FUZZ
    @given(body=bodies(x_shaped))
    def check(body: bytes) -> None:
        cases["x signed"] += 1
        with django_capture_on_commit_callbacks(execute=True):
            response = post_x(client, body, x_signature(body))
        _assert_clear_answer(response)

    check()
    _report(capsys, "x signed")


@override_settings(META_APP_SECRET=META_APP_SECRET)
def test_signed_hostile_meta_bodies_get_a_clear_answer_and_never_crash_processing(
    client, facebook_page, default_team, mocked_http, django_capture_on_commit_callbacks, capsys
):
    @FUZZ
    @given(body=bodies(meta_shaped))
    def check(body: bytes) -> None:
        cases["meta signed"] += 1
        with django_capture_on_commit_callbacks(execute=True):
            response = post_meta(client, body, meta_signature(body))
        _assert_clear_answer(response)

    check()
    _report(capsys, "meta signed")


forged_signatures = st.one_of(
    st.text(max_size=80),
    st.binary(min_size=32, max_size=32).map(lambda b: "sha256=" + b.hex()),
    st.just("sha256="),
)


@override_settings(X_CONSUMER_SECRET=X_CONSUMER_SECRET, META_APP_SECRET=META_APP_SECRET)
def test_forged_deliveries_are_refused_and_nothing_is_stored(
    client, x_account, facebook_page, capsys
):
    genuine = json.dumps(payload("x_account_activity_tweet.json")).encode()

    @FUZZ
    @given(
        body=st.one_of(bodies(x_shaped), bodies(meta_shaped), st.just(genuine)),
        signature=forged_signatures,
        endpoint=st.sampled_from(["x", "meta"]),
    )
    def check(body: bytes, signature: str, endpoint: str) -> None:
        cases["forged"] += 1
        send = post_x if endpoint == "x" else post_meta
        response = send(client, body, signature)
        assert response.status_code == 403
        assert b"Invalid" in response.content

    check()
    assert not WebhookDelivery.objects.exists()
    assert not Post.objects.exists()
    _report(capsys, "forged")


@override_settings(X_CONSUMER_SECRET=X_CONSUMER_SECRET)
def test_a_signature_replayed_over_another_body_is_refused(client, x_account):
    genuine = json.dumps(payload("x_account_activity_tweet.json")).encode()
    tampered = genuine.replace(b"acme", b"evil")

    response = post_x(client, tampered, x_signature(genuine))

    assert response.status_code == 403
    assert not WebhookDelivery.objects.exists()


@override_settings(X_CONSUMER_SECRET=X_CONSUMER_SECRET)
def test_a_replayed_delivery_is_acknowledged_and_stored_once(
    client, x_account, default_team, django_capture_on_commit_callbacks
):
    body = json.dumps(payload("x_account_activity_tweet.json")).encode()

    with django_capture_on_commit_callbacks(execute=True):
        answers = [post_x(client, body, x_signature(body)).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert WebhookDelivery.objects.count() == 1
    assert Post.objects.count() == 1


@override_settings(X_CONSUMER_SECRET=X_CONSUMER_SECRET, WEBHOOK_MAX_BODY_BYTES=10_000)
def test_a_body_over_the_limit_is_refused_with_413_and_not_stored(client, x_account):
    delivery = {"for_user_id": X_ACCOUNT_ID, "padding": "x" * 20_000}
    body = json.dumps(delivery).encode()

    response = post_x(client, body, x_signature(body))

    assert response.status_code == 413
    assert b"larger than 10000 bytes" in response.content
    assert not WebhookDelivery.objects.exists()


@override_settings(X_CONSUMER_SECRET=X_CONSUMER_SECRET)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"for_user_id": "1", "x": NaN}', b"NaN is not valid JSON"),
        (b'{"for_user_id": "1", "x": "\\u0000"}', b"NUL character"),
        (b'{"for_user_id": "1", "x": "\\ud800"}', b"unpaired UTF-16 surrogate"),
        (b"[" * 5000 + b"]" * 5000, b"nested deeper than"),
        (b'{"for_user_id": "\xff"}', b"not UTF-8"),
    ],
)
def test_json_postgres_cannot_store_is_refused_with_a_message(client, x_account, body, message):
    response = post_x(client, body, x_signature(body))

    assert response.status_code == 400
    assert message in response.content
    assert not WebhookDelivery.objects.exists()
