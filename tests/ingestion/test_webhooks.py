"""Meta and X webhook endpoints: handshakes, signatures, parsing, exactly-once storage."""

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings
from django.urls import reverse

from core.models import Post
from ingestion.models import WebhookDelivery
from ingestion.services import poll_account
from tests.ingestion.conftest import (
    META_APP_SECRET,
    X_ACCOUNT_ID,
    X_CONSUMER_SECRET,
    payload,
)

pytestmark = pytest.mark.django_db

META_URL = "/webhooks/meta/"
X_URL = "/webhooks/x/"


def meta_signature(body: bytes, secret: str = META_APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def x_signature(body: bytes, secret: str = X_CONSUMER_SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def post_meta(client, body: bytes, signature: str):
    return client.post(
        META_URL, body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature
    )


def post_x(client, body: bytes, signature: str):
    return client.post(
        X_URL, body, content_type="application/json", HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=signature
    )


def test_urls_are_mounted_under_webhooks():
    assert reverse("ingestion:meta-webhook") == META_URL
    assert reverse("ingestion:x-webhook") == X_URL


@override_settings(META_WEBHOOK_VERIFY_TOKEN="let-me-in")
def test_meta_handshake_echoes_the_challenge_for_the_right_token(client):
    ok = client.get(
        META_URL, {"hub.mode": "subscribe", "hub.verify_token": "let-me-in", "hub.challenge": "42"}
    )
    wrong = client.get(
        META_URL, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "42"}
    )

    assert (ok.status_code, ok.content) == (200, b"42")
    assert wrong.status_code == 403


def test_signed_meta_comment_delivered_three_times_is_stored_once(
    client, facebook_page, default_team, django_capture_on_commit_callbacks
):
    body = json.dumps(payload("meta_feed_webhook.json")).encode()

    with django_capture_on_commit_callbacks(execute=True):
        responses = [post_meta(client, body, meta_signature(body)) for _ in range(3)]

    assert [response.status_code for response in responses] == [200, 200, 200]
    comment = Post.objects.get()
    assert comment.external_id == "900001_700010"
    assert comment.text == "Do you ship to Canada?"
    assert comment.customer.display_name == "Jenny Park"
    assert comment.intent == "question"  # triaged by the worker task that followed
    # The repeats are acknowledged without being stored again.
    assert WebhookDelivery.objects.filter(processed_at__isnull=False).count() == 1


def test_bad_meta_signature_is_refused_and_nothing_is_stored(client, facebook_page):
    body = json.dumps(payload("meta_feed_webhook.json")).encode()

    response = post_meta(client, body, meta_signature(body, secret="not-the-secret"))
    unsigned = client.post(META_URL, body, content_type="application/json")

    assert response.status_code == 403
    assert b"Invalid X-Hub-Signature-256" in response.content
    assert unsigned.status_code == 403
    assert not WebhookDelivery.objects.exists()
    assert not Post.objects.exists()


def test_malformed_json_is_a_400_with_the_reason(client, facebook_page):
    body = b'{"object": "page", "entry": ['

    response = post_meta(client, body, meta_signature(body))

    assert response.status_code == 400
    assert response.content.startswith(b"Malformed JSON:")
    assert not WebhookDelivery.objects.exists()


@override_settings(META_APP_SECRET="secret-from-env")
def test_app_secret_from_the_environment_is_accepted(client, facebook_page, default_team):
    body = json.dumps(payload("meta_feed_webhook.json")).encode()

    assert post_meta(client, body, meta_signature(body, "secret-from-env")).status_code == 200


def test_messenger_message_by_webhook_is_stored_as_a_private_message(
    client, facebook_page, default_team, mocked_http, django_capture_on_commit_callbacks
):
    body = json.dumps(payload("meta_messenger_webhook.json")).encode()
    # The sender's name comes from the Messenger User Profile API.
    mocked_http.get(
        "https://graph.facebook.com/v21.0/5500001",
        json={"first_name": "Lena", "last_name": "Kowalski", "id": "5500001"},
    )

    with django_capture_on_commit_callbacks(execute=True):
        post_meta(client, body, meta_signature(body))

    message = Post.objects.get()
    assert message.external_id == "m_AAAA2"
    assert message.raw["parley_kind"] == "message"
    assert message.customer.external_id == "5500001"
    assert message.customer.display_name == "Lena Kowalski"


def _feed_change(verb: str, message: str) -> dict:
    delivery = payload("meta_feed_webhook.json")
    delivery["entry"][0]["changes"][0]["value"].update(verb=verb, message=message)
    return delivery


def test_edit_and_removal_on_facebook_update_and_mark_the_stored_comment(
    client, facebook_page, default_team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for delivery in [
            _feed_change("add", "Do you ship to Canada?"),
            _feed_change("edited", "Do you ship to Canada and Mexico?"),
            _feed_change("remove", ""),
        ]:
            body = json.dumps(delivery).encode()
            post_meta(client, body, meta_signature(body))

    comment = Post.objects.get()
    assert comment.text == "Do you ship to Canada and Mexico?"
    assert comment.raw["parley_edits"] == [{"text": "Do you ship to Canada?"}]
    assert "parley_deleted_at" in comment.raw


def test_delivery_for_an_unknown_page_is_kept_with_the_reason(
    client, facebook_page, django_capture_on_commit_callbacks
):
    delivery = payload("meta_feed_webhook.json")
    delivery["entry"][0]["id"] = "999"
    body = json.dumps(delivery).encode()

    with django_capture_on_commit_callbacks(execute=True):
        assert post_meta(client, body, meta_signature(body)).status_code == 200

    assert WebhookDelivery.objects.get().error == "No active Facebook account with id 999"
    assert not Post.objects.exists()


def test_x_crc_challenge_is_answered_with_the_hmac_of_the_token(client, x_account):
    response = client.get(X_URL, {"crc_token": "challenge-123"})

    assert response.status_code == 200
    assert response.json() == {"response_token": x_signature(b"challenge-123")}


def test_signed_x_delivery_stores_the_tweet(
    client, x_account, default_team, django_capture_on_commit_callbacks
):
    body = json.dumps(payload("x_account_activity_tweet.json")).encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_x(client, body, x_signature(body))

    assert response.status_code == 200
    tweet = Post.objects.get()
    assert tweet.external_id == "1800000000000000002"
    assert tweet.customer.handle == "maria_travels"
    assert tweet.customer.follower_count == 1240


def test_bad_x_signature_is_refused_and_nothing_is_stored(client, x_account):
    body = json.dumps(payload("x_account_activity_tweet.json")).encode()

    response = post_x(client, body, x_signature(body, "wrong"))

    assert response.status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_same_tweet_by_webhook_and_by_poll_is_one_post(
    client, x_account, default_team, mocked_http, django_capture_on_commit_callbacks
):
    body = json.dumps(payload("x_account_activity_tweet.json")).encode()
    mocked_http.get(
        f"https://api.twitter.com/2/users/{X_ACCOUNT_ID}/mentions",
        json=payload("x_mentions_page1.json"),
    )

    with django_capture_on_commit_callbacks(execute=True):
        post_x(client, body, x_signature(body))
    poll_account(account_id=x_account.pk)

    assert Post.objects.filter(external_id="1800000000000000002").count() == 1
    assert Post.objects.count() == 2


def test_x_deletion_event_marks_the_stored_tweet(
    client, x_account, default_team, django_capture_on_commit_callbacks
):
    create = json.dumps(payload("x_account_activity_tweet.json")).encode()
    delete = json.dumps(
        {
            "for_user_id": X_ACCOUNT_ID,
            "tweet_delete_events": [
                {
                    "status": {"id": "1800000000000000002", "user_id": "2244994945"},
                    "timestamp_ms": "1717236500000",
                }
            ],
        }
    ).encode()

    with django_capture_on_commit_callbacks(execute=True):
        post_x(client, create, x_signature(create))
        post_x(client, delete, x_signature(delete))

    assert "parley_deleted_at" in Post.objects.get().raw


def test_instagram_comment_by_webhook_is_stored_on_the_instagram_account(
    client, instagram_account, default_team, django_capture_on_commit_callbacks
):
    delivery = {
        "object": "instagram",
        "entry": [
            {
                "id": instagram_account.external_id,
                "time": 1717236000,
                "changes": [
                    {
                        "field": "comments",
                        "value": {
                            "from": {"id": "17841400000000001", "username": "priya.codes"},
                            "media": {"id": "17900000000000001", "media_product_type": "FEED"},
                            "id": "17850000000000002",
                            "text": "Is this in stock?",
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(delivery).encode()

    with django_capture_on_commit_callbacks(execute=True):
        assert post_meta(client, body, meta_signature(body)).status_code == 200

    comment = Post.objects.get()
    assert (comment.platform, comment.customer.handle) == ("instagram", "priya.codes")
    assert comment.in_reply_to == "17900000000000001"
    assert comment.conversation.account == instagram_account


def _mention_delivery(account) -> bytes:
    return json.dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": account.external_id,
                    "time": 1717236000,
                    "changes": [
                        {
                            "field": "mentions",
                            "value": {
                                "media_id": "17900000000000055",
                                "comment_id": "17850000000000066",
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def test_instagram_mention_is_fetched_from_the_graph_api_and_stored(
    client, instagram_account, default_team, mocked_http, django_capture_on_commit_callbacks
):
    mocked_http.get(
        f"https://graph.facebook.com/v21.0/{instagram_account.external_id}",
        json={
            "mentioned_comment": {
                "id": "17850000000000066",
                "text": "@acme my parcel is lost",
                "timestamp": "2024-06-01T11:00:00+0000",
                "from": {"id": "17841400000000002", "username": "ben_outdoors"},
                "media": {"id": "17900000000000055"},
            },
            "id": instagram_account.external_id,
        },
    )
    body = _mention_delivery(instagram_account)

    with django_capture_on_commit_callbacks(execute=True):
        post_meta(client, body, meta_signature(body))

    mention = Post.objects.get()
    assert (mention.external_id, mention.text) == ("17850000000000066", "@acme my parcel is lost")
    assert mention.customer.handle == "ben_outdoors"
    fields = parse_qs(urlsplit(mocked_http.calls[0].request.url).query)["fields"][0]
    assert fields.startswith("mentioned_comment.comment_id(17850000000000066){")
    assert WebhookDelivery.objects.get().processed_at is not None


def test_mention_the_graph_api_cannot_serve_now_is_left_for_the_retry_sweep(
    client, instagram_account, default_team, mocked_http, django_capture_on_commit_callbacks
):
    mocked_http.get(
        f"https://graph.facebook.com/v21.0/{instagram_account.external_id}",
        status=500,
        json={
            "error": {
                "message": "An unknown error occurred",
                "type": "OAuthException",
                "code": 1,
                "is_transient": True,
                "fbtrace_id": "z",
            }
        },
    )
    body = _mention_delivery(instagram_account)

    with django_capture_on_commit_callbacks(execute=True):
        assert post_meta(client, body, meta_signature(body)).status_code == 200

    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is None
    assert delivery.error == "Instagram answered: An unknown error occurred (code 1)"
    assert not Post.objects.exists()
