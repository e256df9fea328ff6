"""Every request Parley sends to publish an answer, checked against the platform's reference
(cited beside each), through the real tweepy and facebook-sdk code and `deliver_reply`."""

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from core.models import DeliveryStatus, Platform
from ingestion.services import deliver_reply
from tests.factories import CustomerFactory, PostFactory, pending_reply
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, INSTAGRAM_ACCOUNT_ID

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v21.0"
LINKED_PAGE_ID = "104000000000001"


def form(request) -> dict:
    """A form-encoded Graph API body as {name: value}."""
    return {key: values[0] for key, values in parse_qs(request.body).items()}


def customer_message(account, *, age: timedelta, external_id: str = "m_1", sender="7000001"):
    customer = CustomerFactory(platform=account.platform, external_id=sender)
    return PostFactory(
        conversation__account=account,
        conversation__customer=customer,
        external_id=external_id,
        created_at=timezone.now() - age,
        raw={"parley_kind": "message"},
    )


# --- X -----------------------------------------------------------------------------------------


def test_x_reply_is_a_tweet_replying_to_the_customers_tweet(x_account, mocked_http):
    inbound = PostFactory(
        conversation__account=x_account,
        conversation__customer=CustomerFactory(platform=Platform.TWITTER),
        external_id="1800000000000000002",
    )
    reply = pending_reply(inbound, "@maria Sorry! We are on it.")
    call = mocked_http.post(
        "https://api.twitter.com/2/tweets",
        json={"data": {"id": "1800000000000000099", "text": "@maria Sorry! We are on it."}},
        status=201,
    )

    deliver_reply(post_id=reply.pk)

    # POST /2/tweets, JSON body {"text", "reply": {"in_reply_to_tweet_id"}}, OAuth 1.0a user
    # context: https://docs.x.com/x-api/posts/create-post
    request = call.calls[0].request
    assert json.loads(request.body) == {
        "text": "@maria Sorry! We are on it.",
        "reply": {"in_reply_to_tweet_id": "1800000000000000002"},
    }
    assert request.headers["Authorization"].startswith("OAuth ")


def test_x_dm_goes_to_the_conversation_with_the_participant(x_account, mocked_http):
    inbound = PostFactory(
        conversation__account=x_account,
        conversation__customer=CustomerFactory(platform=Platform.TWITTER, external_id="3001969357"),
        external_id="954491830116155396",
        raw={"parley_kind": "message"},
    )
    reply = pending_reply(inbound, "Could you send us your order number?")
    call = mocked_http.post(
        "https://api.twitter.com/2/dm_conversations/with/3001969357/messages",
        json={"data": {"dm_conversation_id": "1-2", "dm_event_id": "1585800613253812228"}},
        status=201,
    )

    sent = deliver_reply(post_id=reply.pk)

    # POST /2/dm_conversations/with/:participant_id/messages, JSON body {"text"}:
    # https://docs.x.com/x-api/direct-messages/create-dm-message-by-participant-id
    assert json.loads(call.calls[0].request.body) == {
        "text": "Could you send us your order number?"
    }
    assert sent.external_id == "1585800613253812228"


# --- Facebook ----------------------------------------------------------------------------------


def test_facebook_comment_reply_is_a_comment_on_the_comment(facebook_page, mocked_http):
    inbound = PostFactory(
        conversation__account=facebook_page,
        conversation__customer=CustomerFactory(platform=Platform.FACEBOOK),
        external_id="900001_700010",
    )
    reply = pending_reply(inbound, "Yes, we ship to Canada.")
    call = mocked_http.post(f"{GRAPH}/900001_700010/comments", json={"id": "900001_700099"})

    deliver_reply(post_id=reply.pk)

    # POST /{object-id}/comments with `message`, page access token:
    # https://developers.facebook.com/docs/graph-api/reference/object/comments/
    assert form(call.calls[0].request) == {
        "message": "Yes, we ship to Canada.",
        "access_token": "page-token",
    }


def test_messenger_answer_inside_24_hours_is_a_response(facebook_page, mocked_http):
    inbound = customer_message(facebook_page, age=timedelta(hours=2))
    reply = pending_reply(inbound, "Your parcel left today.")
    call = mocked_http.post(
        f"{GRAPH}/{FACEBOOK_PAGE_ID}/messages",
        json={"recipient_id": "7000001", "message_id": "m_out_1"},
    )

    sent = deliver_reply(post_id=reply.pk)

    # Send API: POST /{page-id}/messages, recipient {"id": PSID}, messaging_type RESPONSE:
    # https://developers.facebook.com/docs/messenger-platform/reference/send-api/
    assert form(call.calls[0].request) == {
        "recipient": '{"id": "7000001"}',
        "messaging_type": "RESPONSE",
        "message": '{"text": "Your parcel left today."}',
        "access_token": "page-token",
    }
    assert (sent.delivery_status, sent.external_id) == (DeliveryStatus.SENT, "m_out_1")


@override_settings(META_HUMAN_AGENT_TAG=True)
def test_messenger_answer_after_24_hours_uses_the_human_agent_tag(facebook_page, mocked_http):
    inbound = customer_message(facebook_page, age=timedelta(days=3))
    reply = pending_reply(inbound, "Sorry for the wait: refunded today.")
    call = mocked_http.post(
        f"{GRAPH}/{FACEBOOK_PAGE_ID}/messages",
        json={"recipient_id": "7000001", "message_id": "m_out_2"},
    )

    deliver_reply(post_id=reply.pk)

    # messaging_type MESSAGE_TAG with tag HUMAN_AGENT, up to 7 days after the user's message:
    # https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags/
    assert form(call.calls[0].request) == {
        "recipient": '{"id": "7000001"}',
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": '{"text": "Sorry for the wait: refunded today."}',
        "access_token": "page-token",
    }


def test_messenger_answer_after_24_hours_without_the_permission_is_refused_with_the_way_out(
    facebook_page, mocked_http, client, admin_user
):
    inbound = customer_message(facebook_page, age=timedelta(days=3))
    reply = pending_reply(inbound, "Sorry for the wait.")

    failed = deliver_reply(post_id=reply.pk)

    assert len(mocked_http.calls) == 0  # nothing sent that Meta would refuse
    assert failed.delivery_status == DeliveryStatus.FAILED
    assert "24-hour window to answer this message privately closed" in failed.delivery_error
    assert "Answer publicly, or ask the customer to write again." in failed.delivery_error
    client.force_login(admin_user)
    page = client.get(reverse("conversation", args=[inbound.conversation_id])).content.decode()
    assert "Human Agent permission" in page  # the composer says so before anyone types


@override_settings(META_HUMAN_AGENT_TAG=True)
def test_messenger_answer_after_7_days_is_refused(facebook_page, mocked_http):
    inbound = customer_message(facebook_page, age=timedelta(days=8))
    reply = pending_reply(inbound, "Are you still there?")

    failed = deliver_reply(post_id=reply.pk)

    assert len(mocked_http.calls) == 0
    assert failed.delivery_status == DeliveryStatus.FAILED
    assert "wait until the customer writes again" in failed.delivery_error


def test_composer_shows_when_the_messenger_window_closes(
    facebook_page, mocked_http, client, admin_user
):
    inbound = customer_message(facebook_page, age=timedelta(hours=1))
    client.force_login(admin_user)

    page = client.get(reverse("conversation", args=[inbound.conversation_id])).content.decode()

    ends = timezone.localtime(inbound.created_at + timedelta(hours=24))
    assert "Private answers can be sent until" in page
    assert f'datetime="{ends.isoformat()}"' in page


# --- Instagram ---------------------------------------------------------------------------------


def test_instagram_comment_reply_is_a_reply_on_the_comment(instagram_account, mocked_http):
    inbound = PostFactory(
        conversation__account=instagram_account,
        conversation__customer=CustomerFactory(platform=Platform.INSTAGRAM),
        external_id="17865799348089039",
    )
    reply = pending_reply(inbound, "@test thank you!")
    call = mocked_http.post(f"{GRAPH}/17865799348089039/replies", json={"id": "17870000000000001"})

    deliver_reply(post_id=reply.pk)

    # POST /{ig-comment-id}/replies with `message`:
    # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies
    assert form(call.calls[0].request) == {
        "message": "@test thank you!",
        "access_token": "page-token",
    }


def test_instagram_dm_goes_through_the_linked_facebook_page(instagram_account, mocked_http):
    instagram_account.credentials = {**instagram_account.credentials, "page_id": LINKED_PAGE_ID}
    instagram_account.save()
    inbound = customer_message(instagram_account, age=timedelta(hours=1), sender="6543210987654321")
    reply = pending_reply(inbound, "It is in stock, yes.")
    call = mocked_http.post(
        f"{GRAPH}/{LINKED_PAGE_ID}/messages",
        json={"recipient_id": "6543210987654321", "message_id": "aWdfZAG1faXRlbTox"},
    )

    sent = deliver_reply(post_id=reply.pk)

    # Instagram Messaging (Facebook Login): POST /{page-id}/messages of the linked Page, with
    # the Page token and the IGSID as recipient:
    # https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message/
    assert form(call.calls[0].request) == {
        "recipient": '{"id": "6543210987654321"}',
        "messaging_type": "RESPONSE",
        "message": '{"text": "It is in stock, yes."}',
        "access_token": "page-token",
    }
    assert sent.external_id == "aWdfZAG1faXRlbTox"


def test_instagram_dm_without_the_linked_page_fails_with_the_reason(instagram_account, mocked_http):
    inbound = customer_message(instagram_account, age=timedelta(hours=1))
    reply = pending_reply(inbound, "Hello")

    failed = deliver_reply(post_id=reply.pk)

    assert len(mocked_http.calls) == 0
    assert failed.delivery_status == DeliveryStatus.FAILED
    assert "no linked Facebook Page id" in failed.delivery_error


@pytest.mark.parametrize(
    ("mention", "expected"),
    [
        (
            {"media_id": "17887498072083520", "comment_id": "17894227972186120"},
            {"media_id": "17887498072083520", "comment_id": "17894227972186120"},
        ),
        ({"media_id": "17887498072083520"}, {"media_id": "17887498072083520"}),
    ],
)
def test_instagram_mention_reply_goes_to_the_mentions_edge(
    mention, expected, instagram_account, mocked_http
):
    inbound = PostFactory(
        conversation__account=instagram_account,
        conversation__customer=CustomerFactory(platform=Platform.INSTAGRAM),
        external_id=mention.get("comment_id", mention["media_id"]),
        raw={"parley_mention": mention},
    )
    reply = pending_reply(inbound, "@janedoe so sorry, DM us!")
    call = mocked_http.post(
        f"{GRAPH}/{INSTAGRAM_ACCOUNT_ID}/mentions", json={"id": "17873440459141021"}
    )

    sent = deliver_reply(post_id=reply.pk)

    # POST /{ig-user-id}/mentions with media_id, comment_id (a comment mention) and message:
    # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/mentions
    assert form(call.calls[0].request) == {
        **expected,
        "message": "@janedoe so sorry, DM us!",
        "access_token": "page-token",
    }
    assert sent.external_id == "17873440459141021"
