"""The Facebook and Instagram connectors driven through real facebook-sdk code."""

import json
from urllib.parse import parse_qs

import pytest
from django.test import override_settings
from responses import matchers

from core.models import DeliveryStatus, Post
from ingestion.connectors.facebook import make_graph_api
from ingestion.services import deliver_reply, poll_account
from tests.factories import PostFactory, pending_reply
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, INSTAGRAM_ACCOUNT_ID, payload

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v21.0"


def test_graph_api_calls_go_to_the_configured_version(mocked_http):
    mocked_http.get("https://graph.facebook.com/v22.0/me", json={"id": "1", "name": "Acme"})

    with override_settings(FACEBOOK_GRAPH_API_VERSION="v22.0"):
        api = make_graph_api("page-token")
    result = api.get_object("me")

    assert result["name"] == "Acme"
    assert mocked_http.calls[0].request.url.startswith("https://graph.facebook.com/v22.0/me?")


def test_page_poll_stores_visitor_posts_customer_comments_and_messenger_messages(
    facebook_page, default_team, mocked_http
):
    # The feed's second page (its `paging.next`) is empty.
    mocked_http.get(
        f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed",
        json={"data": []},
        match=[matchers.query_param_matcher({"after": "QVFIUjC"}, strict_match=False)],
    )
    mocked_http.get(f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed", json=payload("meta_page_feed.json"))
    mocked_http.get(
        f"{GRAPH}/{FACEBOOK_PAGE_ID}/conversations", json=payload("meta_conversations.json")
    )

    stored = poll_account(account_id=facebook_page.pk)

    assert stored == 3
    posts = {post.external_id: post for post in Post.objects.all()}
    # The page's own post and its own answer are not customer posts.
    assert set(posts) == {"900001_700001", "111222333_900002", "m_AAAA1"}
    assert posts["900001_700001"].in_reply_to == "111222333_900001"
    assert posts["m_AAAA1"].raw["parley_kind"] == "message"
    assert posts["111222333_900002"].customer.display_name == "Sam Okafor"
    facebook_page.refresh_from_db()
    # 2024-06-01T09:50:00Z, the newest item: the next poll asks from there.
    assert facebook_page.poll_cursor == {"since": 1717235400}
    feed_request, next_page = (call.request.url for call in mocked_http.calls[:2])
    assert "access_token=page-token" in feed_request
    assert "comments.limit" in feed_request
    assert "after=QVFIUjC" in next_page


def test_page_poll_sends_the_cursor_as_since(facebook_page, default_team, mocked_http):
    facebook_page.poll_cursor = {"since": 1717235400}
    facebook_page.save()
    mocked_http.get(f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed", json={"data": []})
    mocked_http.get(f"{GRAPH}/{FACEBOOK_PAGE_ID}/conversations", json={"data": []})

    poll_account(account_id=facebook_page.pk)

    assert "since=1717235400" in mocked_http.calls[0].request.url
    facebook_page.refresh_from_db()
    assert facebook_page.poll_cursor == {"since": 1717235400}


def test_graph_rate_limit_error_pauses_polling_and_keeps_the_cursor(
    facebook_page, default_team, mocked_http
):
    mocked_http.get(
        f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed",
        status=400,
        json=payload("meta_rate_limited.json"),
        headers={
            "x-business-use-case-usage": json.dumps(
                {
                    FACEBOOK_PAGE_ID: [
                        {"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 42}
                    ]
                }
            )
        },
    )

    poll_account(account_id=facebook_page.pk)

    facebook_page.refresh_from_db()
    assert facebook_page.is_rate_limited
    wait = facebook_page.rate_limited_until - facebook_page.last_polled_at
    assert 41 * 60 < wait.total_seconds() <= 43 * 60
    assert facebook_page.last_poll_error == (
        "Facebook answered: (#32) Page request limit reached (code 32)"
    )
    assert facebook_page.poll_cursor == {}


def test_expired_page_token_marks_the_page_unhealthy(facebook_page, default_team, mocked_http):
    mocked_http.get(
        f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed",
        status=400,
        json={
            "error": {
                "message": "Error validating access token: Session has expired",
                "type": "OAuthException",
                "code": 190,
                "fbtrace_id": "x",
            }
        },
    )

    poll_account(account_id=facebook_page.pk)

    facebook_page.refresh_from_db()
    assert facebook_page.is_healthy is False
    assert "Session has expired" in facebook_page.last_poll_error


def test_reply_to_a_comment_is_a_comment_under_it(facebook_page, mocked_http):
    comment = PostFactory(
        conversation__account=facebook_page,
        conversation__customer__platform="facebook",
        external_id="900001_700001",
    )
    reply = pending_reply(comment, "Yes, in every store!")
    mocked_http.post(f"{GRAPH}/900001_700001/comments", json={"id": "900001_700099"})

    sent = deliver_reply(post_id=reply.pk)

    assert sent.delivery_status == DeliveryStatus.SENT
    assert sent.external_id == "900001_700099"
    sent_form = parse_qs(mocked_http.calls[0].request.body)
    assert sent_form["message"] == ["Yes, in every store!"]


def test_reply_to_a_messenger_message_goes_back_by_messenger(facebook_page, mocked_http):
    message = PostFactory(
        conversation__account=facebook_page,
        conversation__customer__platform="facebook",
        conversation__customer__external_id="5500001",
        external_id="m_AAAA1",
        raw={"id": "m_AAAA1", "parley_kind": "message"},
    )
    reply = pending_reply(message, "It is out for delivery today.")
    mocked_http.post(
        f"{GRAPH}/{FACEBOOK_PAGE_ID}/messages",
        json={"recipient_id": "5500001", "message_id": "m_BBBB1"},
    )

    sent = deliver_reply(post_id=reply.pk)

    assert sent.external_id == "m_BBBB1"
    sent_form = parse_qs(mocked_http.calls[0].request.body)
    assert json.loads(sent_form["recipient"][0]) == {"id": "5500001"}
    assert json.loads(sent_form["message"][0]) == {"text": "It is out for delivery today."}


def test_refused_reply_shows_the_platform_message(facebook_page, mocked_http):
    comment = PostFactory(
        conversation__account=facebook_page,
        conversation__customer__platform="facebook",
        external_id="900001_700001",
    )
    reply = pending_reply(comment, "Thanks!")
    mocked_http.post(
        f"{GRAPH}/900001_700001/comments",
        status=400,
        json={
            "error": {
                "message": "(#100) This comment has been deleted",
                "type": "OAuthException",
                "code": 100,
                "fbtrace_id": "y",
            }
        },
    )

    failed = deliver_reply(post_id=reply.pk)

    assert failed.delivery_status == DeliveryStatus.FAILED
    assert failed.delivery_error == (
        "Facebook answered: (#100) This comment has been deleted (code 100)"
    )


def test_instagram_poll_stores_comments_on_media(instagram_account, default_team, mocked_http):
    mocked_http.get(f"{GRAPH}/{INSTAGRAM_ACCOUNT_ID}/media", json=payload("ig_media_comments.json"))

    assert poll_account(account_id=instagram_account.pk) == 1

    comment = Post.objects.get()
    assert comment.platform == "instagram"
    assert comment.customer.handle == "priya.codes"
    assert comment.in_reply_to == "17900000000000001"


def test_instagram_reply_is_a_reply_to_the_comment(instagram_account, mocked_http):
    comment = PostFactory(
        conversation__account=instagram_account,
        conversation__customer__platform="instagram",
        external_id="17850000000000001",
    )
    reply = pending_reply(comment, "Back next week in all sizes!")
    mocked_http.post(f"{GRAPH}/17850000000000001/replies", json={"id": "17850000000000777"})

    assert deliver_reply(post_id=reply.pk).external_id == "17850000000000777"
