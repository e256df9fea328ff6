"""The X connector driven through real tweepy code against recorded API v2 payloads."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone
from responses import matchers

from core.models import Customer, DeliveryStatus, Post
from helpdesk.services import send_reply
from ingestion.models import PlatformAccount, ReplyAttempt
from ingestion.services import deliver_reply, poll_account
from tests.factories import PostFactory, pending_reply
from tests.ingestion.conftest import X_ACCOUNT_ID, payload

pytestmark = pytest.mark.django_db

MENTIONS = f"https://api.twitter.com/2/users/{X_ACCOUNT_ID}/mentions"
SEARCH = "https://api.twitter.com/2/tweets/search/recent"
TWEETS = "https://api.twitter.com/2/tweets"
USER_TWEETS = f"https://api.twitter.com/2/users/{X_ACCOUNT_ID}/tweets"


def _reply_to(inbound: Post, agent, text: str) -> Post:
    return send_reply(conversation_id=inbound.conversation_id, agent=agent, text=text)


def test_mentions_page_with_expansions_stores_customers_and_posts(
    x_account, default_team, mocked_http
):
    mocked_http.get(MENTIONS, json=payload("x_mentions_page1.json"))

    stored = poll_account(account_id=x_account.pk)

    assert stored == 2
    guru = Customer.objects.get(platform="twitter", external_id="783214")
    assert (guru.handle, guru.display_name) == ("gadgetguru", "Gadget Guru")
    assert (guru.follower_count, guru.is_verified) == (412_000, True)
    texts = list(Post.objects.order_by("created_at").values_list("text", flat=True))
    assert texts == [
        "@acme how do I change my delivery address?",
        "@acme my order #123456 never arrived and nobody answers",
    ]
    request = mocked_http.calls[0].request
    assert "expansions=author_id" in request.url
    assert "public_metrics" in request.url
    x_account.refresh_from_db()
    assert x_account.poll_cursor["mentions"] == {"since_id": "1800000000000000002"}


def test_second_poll_asks_since_the_newest_id_and_stores_only_new_posts(
    x_account, default_team, mocked_http
):
    mocked_http.get(
        MENTIONS,
        json=payload("x_mentions_page2.json"),
        match=[
            matchers.query_param_matcher({"since_id": "1800000000000000002"}, strict_match=False)
        ],
    )
    mocked_http.get(MENTIONS, json=payload("x_mentions_page1.json"))
    poll_account(account_id=x_account.pk)

    stored = poll_account(account_id=x_account.pk)

    assert stored == 1
    follow_up = Post.objects.get(external_id="1800000000000000003")
    original = Post.objects.get(external_id="1800000000000000002")
    assert follow_up.in_reply_to == original.external_id
    assert follow_up.conversation_id == original.conversation_id
    assert Customer.objects.get(external_id="2244994945").follower_count == 1250
    x_account.refresh_from_db()
    assert x_account.poll_cursor["mentions"] == {"since_id": "1800000000000000003"}


def test_listening_queries_are_searched_with_their_own_cursor(x_account, default_team, mocked_http):
    x_account.listening_queries = "#acmeapp -is:retweet\n"
    x_account.save()
    mocked_http.get(MENTIONS, json={"meta": {"result_count": 0}})
    mocked_http.get(
        SEARCH,
        json=payload("x_search_recent.json"),
        match=[matchers.query_param_matcher({"query": "#acmeapp -is:retweet"}, strict_match=False)],
    )

    stored = poll_account(account_id=x_account.pk)

    assert stored == 1
    assert Post.objects.get().customer.handle == "tom_h"
    x_account.refresh_from_db()
    assert x_account.poll_cursor["searches"] == {
        "#acmeapp -is:retweet": {"since_id": "1800000000000000010"}
    }


def test_rate_limit_records_the_reset_time_and_loses_no_posts(x_account, default_team, mocked_http):
    reset = int((timezone.now() + timedelta(minutes=7)).timestamp())
    mocked_http.get(
        MENTIONS,
        status=429,
        json=payload("x_too_many_requests.json"),
        headers={
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        },
    )

    assert poll_account(account_id=x_account.pk) == 0

    x_account.refresh_from_db()
    assert x_account.rate_limited_until == datetime.fromtimestamp(reset, UTC)
    assert x_account.next_poll_at == x_account.rate_limited_until
    assert x_account.poll_cursor == {}
    assert "429 Too Many Requests" in x_account.last_poll_error
    assert (
        x_account.rate_limit_state[f"/2/users/{X_ACCOUNT_ID}/mentions"]["x-rate-limit-remaining"]
        == "0"
    )

    # Before the reset the platform is not called at all.
    assert poll_account(account_id=x_account.pk) == 0
    assert len(mocked_http.calls) == 1

    # After it, the same posts come in: nothing was skipped.
    PlatformAccount.objects.filter(pk=x_account.pk).update(
        rate_limited_until=timezone.now() - timedelta(seconds=1)
    )
    mocked_http.replace("GET", MENTIONS, json=payload("x_mentions_page1.json"))
    assert poll_account(account_id=x_account.pk) == 2
    x_account.refresh_from_db()
    assert x_account.rate_limited_until is None
    assert x_account.last_poll_error == ""


def test_server_error_backs_off_without_moving_the_cursor(x_account, default_team, mocked_http):
    x_account.poll_cursor = {"mentions": {"since_id": "1700000000000000000"}}
    x_account.save()
    mocked_http.get(MENTIONS, status=503, json={"title": "Service Unavailable", "status": 503})
    before = timezone.now()

    poll_account(account_id=x_account.pk)

    x_account.refresh_from_db()
    assert x_account.poll_cursor == {"mentions": {"since_id": "1700000000000000000"}}
    assert x_account.consecutive_failures == 1
    assert x_account.next_poll_at >= before + timedelta(seconds=x_account.poll_interval_seconds)
    assert "X server error: 503" in x_account.last_poll_error
    assert x_account.is_healthy is True


def test_refused_credentials_mark_the_account_unhealthy_with_the_platform_message(
    x_account, default_team, mocked_http
):
    mocked_http.get(
        MENTIONS,
        status=401,
        json={
            "title": "Unauthorized",
            "type": "about:blank",
            "status": 401,
            "detail": "Unauthorized",
        },
    )

    poll_account(account_id=x_account.pk)

    x_account.refresh_from_db()
    assert x_account.is_healthy is False
    assert x_account.last_poll_error == "X refused the credentials: 401 Unauthorized: Unauthorized"


@pytest.fixture
def inbound_tweet(x_account):
    return PostFactory(
        conversation__account=x_account,
        conversation__customer__platform="twitter",
        external_id="1800000000000000002",
    )


def test_reply_over_280_characters_fails_clearly_without_calling_x(inbound_tweet, mocked_http):
    # The reply form refuses these too; the connector is the last guard before the API, for
    # replies stored by any other path.
    reply = pending_reply(inbound_tweet, "x" * 281)

    failed = deliver_reply(post_id=reply.pk)

    assert failed.delivery_status == DeliveryStatus.FAILED
    assert failed.delivery_error == (
        "A reply on X can be at most 280 characters; this one has 281. "
        "Shorten it or send it as a DM."
    )
    assert len(mocked_http.calls) == 0


def test_a_long_link_counts_as_x_counts_it_and_is_published(inbound_tweet, mocked_http):
    mocked_http.post(TWEETS, status=201, json=payload("x_create_tweet.json"))
    # 300 characters, of which a 290-character link X counts as 23.
    text = "Track it: https://example.com/" + "p" * 270
    reply = pending_reply(inbound_tweet, text)

    sent = deliver_reply(post_id=reply.pk)

    assert len(text) == 300
    assert sent.delivery_status == DeliveryStatus.SENT
    assert len(mocked_http.calls) == 1


def test_reply_is_published_in_the_thread_and_its_id_stored(
    inbound_tweet, agent, mocked_http, django_capture_on_commit_callbacks
):
    mocked_http.post(TWEETS, status=201, json=payload("x_create_tweet.json"))

    with django_capture_on_commit_callbacks(execute=True):
        reply = _reply_to(inbound_tweet, agent, "Sorry about that! Please DM us your order number.")

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert reply.external_id == "1800000000000000500"
    body = mocked_http.calls[0].request.body
    assert b'"in_reply_to_tweet_id": "1800000000000000002"' in body
    assert mocked_http.calls[0].request.headers["Authorization"].startswith("OAuth ")


def test_retry_after_a_timeout_finds_the_published_reply_and_posts_nothing_more(
    inbound_tweet, agent, mocked_http
):
    reply = pending_reply(
        inbound_tweet, "@maria_travels Sorry about that! Please DM us your order number."
    )
    mocked_http.post(TWEETS, body=requests.ReadTimeout("read timed out"))
    mocked_http.get(USER_TWEETS, json=payload("x_user_tweets.json"))

    first = deliver_reply(post_id=reply.pk)
    assert first.delivery_status == DeliveryStatus.PENDING
    assert "No answer from X" in first.delivery_error

    second = deliver_reply(post_id=reply.pk)
    third = deliver_reply(post_id=reply.pk)

    assert second.delivery_status == DeliveryStatus.SENT
    assert second.external_id == "1800000000000000500"
    assert third.external_id == "1800000000000000500"
    posts = [call for call in mocked_http.calls if call.request.method == "POST"]
    assert len(posts) == 1


def test_retry_after_a_timeout_publishes_when_x_does_not_have_the_reply(
    inbound_tweet, agent, mocked_http
):
    reply = pending_reply(
        inbound_tweet, "@maria_travels Sorry about that! Please DM us your order number."
    )
    mocked_http.post(TWEETS, body=requests.ReadTimeout("read timed out"))
    mocked_http.get(USER_TWEETS, json={"meta": {"result_count": 0}})
    deliver_reply(post_id=reply.pk)
    mocked_http.replace("POST", TWEETS, status=201, json=payload("x_create_tweet.json"))

    sent = deliver_reply(post_id=reply.pk)

    assert sent.delivery_status == DeliveryStatus.SENT
    assert [call.request.method for call in mocked_http.calls] == ["POST", "GET", "POST"]


def test_reply_claimed_by_a_worker_mid_call_is_not_sent_again(inbound_tweet, mocked_http):
    reply = pending_reply(inbound_tweet, "On it!")
    ReplyAttempt.objects.create(post=reply, claimed_at=timezone.now(), outcome_unknown=True)

    result = deliver_reply(post_id=reply.pk)

    assert result.delivery_status == DeliveryStatus.PENDING
    assert len(mocked_http.calls) == 0


def test_reply_x_cannot_take_now_is_shown_failed_with_the_reason_when_no_worker_retries(
    inbound_tweet, agent, mocked_http, django_capture_on_commit_callbacks
):
    mocked_http.post(TWEETS, status=503, json={"title": "Service Unavailable", "status": 503})

    with django_capture_on_commit_callbacks(execute=True):
        reply = _reply_to(inbound_tweet, agent, "We're on it!")

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert reply.delivery_error == "X server error: 503 Service Unavailable"


def test_direct_messages_are_polled_when_the_account_reads_them(
    x_account, default_team, mocked_http
):
    x_account.credentials = {**x_account.credentials, "read_direct_messages": True}
    x_account.save()
    mocked_http.get(MENTIONS, json={"meta": {"result_count": 0}})
    mocked_http.get("https://api.twitter.com/2/dm_events", json=payload("x_dm_events.json"))

    assert poll_account(account_id=x_account.pk) == 1

    message = Post.objects.get()
    assert message.text == "Hi, my order 123456 still hasn't shipped"
    assert message.raw["parley_kind"] == "message"
    assert message.customer.handle == "maria_travels"
    x_account.refresh_from_db()
    assert x_account.poll_cursor["dm_since_id"] == "1800000000000000901"


def test_answer_to_a_direct_message_is_sent_as_a_direct_message(x_account, mocked_http):
    message = PostFactory(
        conversation__account=x_account,
        conversation__customer__platform="twitter",
        conversation__customer__external_id="2244994945",
        external_id="1800000000000000901",
        raw={"id": "1800000000000000901", "parley_kind": "message"},
    )
    reply = pending_reply(message, "Sorry! It ships today.")
    mocked_http.post(
        "https://api.twitter.com/2/dm_conversations/with/2244994945/messages",
        status=201,
        json={
            "data": {
                "dm_conversation_id": "1500000000-2244994945",
                "dm_event_id": "1800000000000000950",
            }
        },
    )

    sent = deliver_reply(post_id=reply.pk)

    assert sent.delivery_status == DeliveryStatus.SENT
    assert sent.external_id == "1800000000000000950"


def test_backlog_longer_than_one_poll_is_read_over_several_polls_without_gaps(
    x_account, default_team, mocked_http, monkeypatch
):
    monkeypatch.setattr("ingestion.connectors.twitter.MAX_PAGES", 2)
    x_account.poll_cursor = {"mentions": {"since_id": "100"}}
    x_account.save()
    posted = ["101", "102", "103"]

    def mentions(request):
        """X's paging, one tweet a page, newest first, honouring since_id and until_id."""
        query = parse_qs(urlsplit(request.url).query)
        since = int(query["since_id"][0])
        until = int(query.get("until_id", ["999"])[0])
        window = [i for i in reversed(posted) if since < int(i) < until]
        start = int(query.get("pagination_token", ["0"])[0])
        page = window[start : start + 1]
        meta = {"result_count": len(page)}
        if page:
            meta |= {"newest_id": page[0], "oldest_id": page[-1]}
        if start + 1 < len(window):
            meta["next_token"] = str(start + 1)
        tweets = [
            {
                "id": i,
                "text": f"@acme post {i}",
                "author_id": "783214",
                "created_at": "2024-06-01T10:00:00.000Z",
                "edit_history_tweet_ids": [i],
            }
            for i in page
        ]
        return 200, {}, json.dumps({"data": tweets, "meta": meta})

    mocked_http.add_callback("GET", MENTIONS, callback=mentions, content_type="application/json")

    assert poll_account(account_id=x_account.pk) == 2
    x_account.refresh_from_db()
    assert x_account.poll_cursor["mentions"] == {
        "since_id": "100",
        "until_id": "102",
        "newest": "103",
    }
    assert poll_account(account_id=x_account.pk) == 1
    x_account.refresh_from_db()
    assert x_account.poll_cursor["mentions"] == {"since_id": "103"}
    posted.append("104")
    assert poll_account(account_id=x_account.pk) == 1
    assert sorted(Post.objects.values_list("external_id", flat=True)) == [
        "101",
        "102",
        "103",
        "104",
    ]
