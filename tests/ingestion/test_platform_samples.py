"""Every real or documented platform payload in payloads/samples/ (see its README) through the
real webhook views, `poll_account` and `import_posts`, with what an agent would see asserted."""

import json
from urllib.parse import unquote

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from responses import matchers

from core.models import Conversation, Customer, Platform, Post
from ingestion.models import PlatformAccount, WebhookDelivery
from ingestion.services import poll_account
from tests.factories import CustomerFactory, PlatformAccountFactory, PostFactory
from tests.ingestion.conftest import META_APP_SECRET, PAYLOADS, X_CONSUMER_SECRET
from tests.ingestion.test_webhooks import META_URL, X_URL, meta_signature, x_signature

pytestmark = pytest.mark.django_db

SAMPLES = PAYLOADS / "samples"
GRAPH = "https://graph.facebook.com/v21.0"
X_API = "https://api.twitter.com/2"

# The accounts the documented samples were sent for.
X_BRAND = "1072250532645998596"  # tweepy's cassettes: tweet_create_*, favorite
X_DOCS_BRAND = "4337869213"  # X's docs: DM, typing
PAGE_ID = "682498302938465"  # Messenger reference
IG_ID = "17841430541631416"  # Instagram webhooks reference


def sample(path: str) -> bytes:
    return (SAMPLES / path).read_bytes()


def x_brand(external_id: str = X_BRAND, **credentials) -> PlatformAccount:
    return PlatformAccountFactory(
        platform=Platform.TWITTER,
        handle=f"brand{external_id[-4:]}",
        external_id=external_id,
        credentials={
            "bearer_token": "x-bearer",
            "consumer_key": "x-key",
            "consumer_secret": X_CONSUMER_SECRET,
            "access_token": "x-access",
            "access_token_secret": "x-access-secret",
            **credentials,
        },
    )


def meta_brand(platform: str, external_id: str) -> PlatformAccount:
    return PlatformAccountFactory(
        platform=platform,
        handle="acme",
        external_id=external_id,
        credentials={"page_access_token": "page-token", "app_secret": META_APP_SECRET},
    )


def deliver_x(client, capture, body: bytes):
    with capture(execute=True):
        return client.post(
            X_URL,
            body,
            content_type="application/json",
            HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=x_signature(body),
        )


def deliver_meta(client, capture, body: bytes):
    with capture(execute=True):
        return client.post(
            META_URL,
            body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=meta_signature(body),
        )


def thread_html(client, admin_user, post: Post) -> str:
    client.force_login(admin_user)
    response = client.get(reverse("conversation", args=[post.conversation_id]))
    assert response.status_code == 200
    return response.content.decode()


# --- X Account Activity ------------------------------------------------------------------------


def test_recorded_reply_tweet_is_stored_threaded_to_the_tweet_it_answers(
    client, default_team, django_capture_on_commit_callbacks
):
    x_brand()

    response = deliver_x(
        client,
        django_capture_on_commit_callbacks,
        sample("x-account-activity/tweet_create_reply.json"),
    )

    assert response.status_code == 200
    post = Post.objects.get()
    assert post.external_id == "1149678185375600641"
    assert post.in_reply_to == "1149676837204717568"
    assert post.text.startswith("@Kirzahk @DianalvarezBack")
    assert (post.customer.handle, post.customer.external_id) == ("jluisperezg", "594625034")
    assert WebhookDelivery.objects.get().error == ""


def test_recorded_retweet_opens_no_conversation_and_counts_on_the_retweeted_post(
    client, default_team, django_capture_on_commit_callbacks
):
    brand = x_brand()
    original = PostFactory(
        conversation__account=brand,
        conversation__customer=CustomerFactory(platform=Platform.TWITTER),
        external_id="1149803446704443392",
        raw={"retweet_count": 2},
    )

    response = deliver_x(
        client,
        django_capture_on_commit_callbacks,
        sample("x-account-activity/tweet_create_retweet.json"),
    )

    assert response.status_code == 200
    # No "RT @…" post, no conversation, no customer for the retweeter.
    assert list(Post.objects.values_list("external_id", flat=True)) == ["1149803446704443392"]
    assert Conversation.objects.count() == 1
    assert not Customer.objects.filter(external_id="789181790").exists()
    original.refresh_from_db()
    # The retweeted tweet's own retweet_count (7), which the viral detection reads.
    assert original.raw["retweet_count"] == 7
    assert WebhookDelivery.objects.get().error == ""


def test_retweet_of_a_post_parley_does_not_hold_stores_nothing(
    client, default_team, django_capture_on_commit_callbacks
):
    x_brand()

    deliver_x(
        client,
        django_capture_on_commit_callbacks,
        sample("x-account-activity/tweet_create_retweet.json"),
    )

    assert Post.objects.count() == 0
    assert Conversation.objects.count() == 0


def test_recorded_plain_status_is_a_post(client, default_team, django_capture_on_commit_callbacks):
    x_brand()

    deliver_x(
        client,
        django_capture_on_commit_callbacks,
        sample("x-account-activity/tweet_create_status.json"),
    )

    post = Post.objects.get()
    # A hand-typed "RT" without retweeted_status is a post of its own.
    assert post.text.startswith('RT @TwitterEng: Bolstering our infrastructure. "As  usage')
    assert post.customer.handle == "Twitter"
    assert post.customer.is_verified is True


def test_documented_long_post_is_stored_with_its_full_text(
    client, default_team, django_capture_on_commit_callbacks
):
    x_brand("1603419180975409153")

    deliver_x(
        client, django_capture_on_commit_callbacks, sample("x-account-activity/longform_docs.json")
    )

    post = Post.objects.get()
    assert post.text == "The Antikythera Mechanism ... (full 2051-char text)\n@xai\n@HistoryInPics"
    assert post.customer.follower_count == 56335782


def test_documented_dm_is_a_private_message_from_the_named_sender(
    client, default_team, django_capture_on_commit_callbacks
):
    x_brand(X_DOCS_BRAND)

    deliver_x(client, django_capture_on_commit_callbacks, sample("x-account-activity/dm_docs.json"))

    message = Post.objects.get()
    assert (message.external_id, message.text) == ("954491830116155396", "Hello World!")
    assert message.raw["parley_kind"] == "message"
    assert (message.customer.handle, message.customer.display_name) == (
        "furiouscamper",
        "Jordan Brinks",
    )


def test_documented_delete_marks_the_stored_post_deleted(
    client, default_team, django_capture_on_commit_callbacks
):
    brand = x_brand("930524282358325248")
    stored = PostFactory(
        conversation__account=brand,
        conversation__customer=CustomerFactory(platform=Platform.TWITTER),
        external_id="1045405559317569537",
    )

    deliver_x(
        client, django_capture_on_commit_callbacks, sample("x-account-activity/delete_docs.json")
    )

    stored.refresh_from_db()
    assert "parley_deleted_at" in stored.raw
    assert WebhookDelivery.objects.get().error == ""


def test_documented_typing_indicator_is_acknowledged_and_stores_nothing(
    client, default_team, django_capture_on_commit_callbacks
):
    x_brand(X_DOCS_BRAND)

    response = deliver_x(
        client, django_capture_on_commit_callbacks, sample("x-account-activity/typing_docs.json")
    )

    assert response.status_code == 200
    assert Post.objects.count() == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.processed_at is not None, delivery.error) == (True, "")


def test_documented_favorite_counts_a_like_on_the_stored_post(
    client, default_team, django_capture_on_commit_callbacks
):
    brand = x_brand()
    liked = PostFactory(
        conversation__account=brand,
        conversation__customer=CustomerFactory(platform=Platform.TWITTER),
        external_id="266367358078169089",
        raw={},
    )

    deliver_x(
        client, django_capture_on_commit_callbacks, sample("x-account-activity/favorite_docs.json")
    )

    liked.refresh_from_db()
    assert liked.raw["like_count"] == 144
    assert Post.objects.count() == 1


def test_documented_replay_job_status_is_acknowledged_and_logged(client, caplog):
    x_brand()

    response = client.post(
        X_URL,
        sample("x-account-activity/replay_complete_docs.json"),
        content_type="application/json",
        HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=x_signature(
            sample("x-account-activity/replay_complete_docs.json")
        ),
    )

    assert response.status_code == 200
    assert "replay job 5678 is Complete" in caplog.text
    assert WebhookDelivery.objects.count() == 0


def test_documented_revoke_marks_the_account_unhealthy_with_the_reason(
    client, django_capture_on_commit_callbacks
):
    revoked = x_brand("63046977")
    other = x_brand()

    response = deliver_x(
        client,
        django_capture_on_commit_callbacks,
        sample("x-account-activity/user_event_revoke_docs.json"),
    )

    assert response.status_code == 200
    revoked.refresh_from_db()
    other.refresh_from_db()
    assert revoked.is_healthy is False
    assert "revoked Parley's access at 2018-05-24T09:48:12+00:00" in revoked.last_poll_error
    assert other.is_healthy is True


# --- Meta webhooks -----------------------------------------------------------------------------


def test_documented_messenger_text_is_private_and_its_sender_gets_a_name(
    client, admin_user, default_team, mocked_http, django_capture_on_commit_callbacks
):
    meta_brand(Platform.FACEBOOK, PAGE_ID)
    # Messenger User Profile API: GET /{psid}?fields=first_name,last_name,profile_pic
    profile = mocked_http.get(
        f"{GRAPH}/1254459154682919",
        json={
            "first_name": "Peter",
            "last_name": "Chang",
            "profile_pic": "https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=1254",
            "id": "1254459154682919",
        },
        match=[
            matchers.query_param_matcher(
                {"fields": "first_name,last_name,profile_pic"}, strict_match=False
            )
        ],
    )

    deliver_meta(
        client, django_capture_on_commit_callbacks, sample("meta-webhooks/messenger_text_docs.json")
    )

    message = Post.objects.get()
    assert (message.text, message.raw["parley_kind"]) == ("hello, world!", "message")
    assert message.customer.display_name == "Peter Chang"
    assert profile.call_count == 1
    page = thread_html(client, admin_user, message)
    assert "Peter Chang" in page
    assert 'src="https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=1254"' in page


def test_a_failed_profile_lookup_is_tolerated_and_not_repeated(
    client, default_team, mocked_http, django_capture_on_commit_callbacks
):
    meta_brand(Platform.FACEBOOK, PAGE_ID)
    refused = mocked_http.get(
        f"{GRAPH}/1254459154682919",
        status=400,
        json={
            "error": {"message": "Insufficient permission", "type": "OAuthException", "code": 10}
        },
    )
    body = json.loads(sample("meta-webhooks/messenger_text_docs.json"))

    deliver_meta(client, django_capture_on_commit_callbacks, json.dumps(body).encode())
    body["entry"][0]["messaging"][0]["message"]["mid"] = "mid.second"
    deliver_meta(client, django_capture_on_commit_callbacks, json.dumps(body).encode())

    assert Post.objects.count() == 2
    customer = Customer.objects.get()
    assert customer.handle == "1254459154682919"
    assert "Insufficient permission" in customer.platform_profile.error
    assert refused.call_count == 1


def test_documented_attachment_only_message_shows_the_photo_in_the_thread(
    client, admin_user, default_team, mocked_http, django_capture_on_commit_callbacks
):
    meta_brand(Platform.FACEBOOK, PAGE_ID)
    mocked_http.get(f"{GRAPH}/1254459154682919", json={"first_name": "Ana", "id": "1"})

    deliver_meta(
        client,
        django_capture_on_commit_callbacks,
        sample("meta-webhooks/messenger_attachment_docs.json"),
    )

    message = Post.objects.get()
    assert message.text == ""
    assert message.raw["parley_attachments"] == [
        {
            "type": "photo",
            "url": "https://scontent.xx.fbcdn.net/v/t1.15752-9/a.jpg",
            "preview_url": "https://scontent.xx.fbcdn.net/v/t1.15752-9/a.jpg",
            "alt_text": "",
        }
    ]
    assert message.intent  # classified on "[photo]", not on nothing
    page = thread_html(client, admin_user, message)
    assert (
        '<img src="https://scontent.xx.fbcdn.net/v/t1.15752-9/a.jpg" alt="photo" loading="lazy" '
        'referrerpolicy="no-referrer"'
    ) in page
    response = client.get(reverse("conversation", args=[message.conversation_id]))
    assert "https://*.fbcdn.net" in response.headers["Content-Security-Policy"]


def test_documented_echo_read_and_delivery_events_store_nothing(
    client, default_team, django_capture_on_commit_callbacks
):
    meta_brand(Platform.FACEBOOK, PAGE_ID)

    deliver_meta(
        client,
        django_capture_on_commit_callbacks,
        sample("meta-webhooks/messenger_echo_read_delivery_docs.json"),
    )

    assert Post.objects.count() == 0
    assert WebhookDelivery.objects.get().error == ""


def test_documented_optin_with_user_ref_does_not_lose_the_message_beside_it(
    client, default_team, mocked_http, django_capture_on_commit_callbacks
):
    meta_brand(Platform.FACEBOOK, PAGE_ID)
    mocked_http.get(f"{GRAPH}/1254459154682919", json={"first_name": "Ana", "id": "1"})

    deliver_meta(
        client,
        django_capture_on_commit_callbacks,
        sample("meta-webhooks/messenger_optin_userref_docs.json"),
    )

    message = Post.objects.get()
    assert message.text == "message in same batch as optin"
    assert WebhookDelivery.objects.get().error == ""


def test_an_unreadable_event_is_named_by_its_path_and_the_rest_stored(
    client, default_team, mocked_http, django_capture_on_commit_callbacks
):
    meta_brand(Platform.FACEBOOK, PAGE_ID)
    mocked_http.get(f"{GRAPH}/1254459154682919", json={"first_name": "Ana", "id": "1"})
    body = json.loads(sample("meta-webhooks/messenger_optin_userref_docs.json"))
    # A message whose sender is only a user_ref: not the platform's documented message shape.
    body["entry"][0]["messaging"][0]["message"] = {"mid": "mid.broken", "text": "?"}

    deliver_meta(client, django_capture_on_commit_callbacks, json.dumps(body).encode())

    assert Post.objects.get().text == "message in same batch as optin"
    assert WebhookDelivery.objects.get().error == (
        "entry[0].messaging[0]: unreadable event skipped (KeyError('id'))"
    )


def test_documented_standby_message_reaches_the_agents(
    client, default_team, mocked_http, django_capture_on_commit_callbacks
):
    meta_brand(Platform.FACEBOOK, PAGE_ID)
    mocked_http.get(f"{GRAPH}/1254459154682919", json={"first_name": "Ana", "id": "1"})

    deliver_meta(
        client,
        django_capture_on_commit_callbacks,
        sample("meta-webhooks/messenger_standby_docs.json"),
    )

    message = Post.objects.get()
    assert message.text == "message while another app holds the thread"
    assert message.raw["parley_standby"] is True
    assert message.raw["parley_kind"] == "message"


def test_dashboard_sample_instagram_comment_is_keyed_by_the_ig_user_id(
    client, default_team, django_capture_on_commit_callbacks
):
    meta_brand(Platform.INSTAGRAM, IG_ID)

    deliver_meta(
        client,
        django_capture_on_commit_callbacks,
        sample("meta-webhooks/ig_comment_dashboard_sample.json"),
    )

    comment = Post.objects.get()
    assert (comment.external_id, comment.text) == ("17865799348089039", "This is an example.")
    assert comment.in_reply_to == "1231231234"
    assert (comment.customer.external_id, comment.customer.handle) == ("232323232", "test")


def test_documented_instagram_mention_is_fetched_and_stored(
    client, default_team, mocked_http, django_capture_on_commit_callbacks
):
    meta_brand(Platform.INSTAGRAM, IG_ID)
    fetch = mocked_http.get(
        f"{GRAPH}/{IG_ID}",
        json={
            "mentioned_comment": {
                "id": "17894227972186120",
                "text": "@acme the zip broke on day two",
                "timestamp": "2018-03-07T00:46:10+0000",
                "from": {"id": "17841405309211844", "username": "janedoe"},
                "media": {"id": "17887498072083520"},
            },
            "id": IG_ID,
        },
    )

    deliver_meta(
        client, django_capture_on_commit_callbacks, sample("meta-webhooks/ig_mentions_docs.json")
    )

    mention = Post.objects.get()
    assert mention.text == "@acme the zip broke on day two"
    assert mention.customer.external_id == "17841405309211844"
    assert "mentioned_comment.comment_id(17894227972186120)" in unquote(fetch.calls[0].request.url)


def test_caption_mention_by_a_known_commenter_is_the_same_customer(
    client, default_team, mocked_http, django_capture_on_commit_callbacks
):
    meta_brand(Platform.INSTAGRAM, IG_ID)
    commenter = CustomerFactory(
        platform=Platform.INSTAGRAM, external_id="17841405309211844", handle="janedoe"
    )
    mocked_http.get(
        f"{GRAPH}/{IG_ID}",
        json={
            "mentioned_media": {
                "id": "17887498072083520",
                "caption": "Look what @acme sent me",
                "timestamp": "2018-03-07T00:46:10+0000",
                "username": "JaneDoe",
            },
            "id": IG_ID,
        },
    )
    body = json.loads(sample("meta-webhooks/ig_mentions_docs.json"))
    del body["entry"][0]["changes"][0]["value"]["comment_id"]  # a caption mention

    deliver_meta(client, django_capture_on_commit_callbacks, json.dumps(body).encode())

    assert Post.objects.get().customer == commenter
    assert Customer.objects.count() == 1


def test_documented_instagram_message_is_private_with_the_sender_name(
    client, default_team, mocked_http, django_capture_on_commit_callbacks
):
    meta_brand(Platform.INSTAGRAM, IG_ID)
    # Instagram user profile: GET /{igsid}?fields=name,username,profile_pic
    mocked_http.get(
        f"{GRAPH}/6543210987654321",
        json={
            "name": "Jane Doe",
            "username": "janedoe",
            "profile_pic": "https://x.cdninstagram.com/p.jpg",
        },
        match=[
            matchers.query_param_matcher(
                {"fields": "name,username,profile_pic"}, strict_match=False
            )
        ],
    )

    deliver_meta(
        client, django_capture_on_commit_callbacks, sample("meta-webhooks/ig_messaging_docs.json")
    )

    message = Post.objects.get()
    assert (message.text, message.raw["parley_kind"]) == ("Hi, is this in stock?", "message")
    message.customer.refresh_from_db()
    assert (message.customer.handle, message.customer.display_name) == ("janedoe", "Jane Doe")


# --- X API v2: polls, replies, imports ---------------------------------------------------------


def test_recorded_mentions_without_author_id_are_skipped_and_said_and_the_cursor_moves(
    default_team, mocked_http
):
    brand = x_brand()
    mocked_http.get(
        f"{X_API}/users/{X_BRAND}/mentions",
        body=sample("x-api-v2/test_client_get_users_mentions.0.json"),
        content_type="application/json",
    )

    assert poll_account(account_id=brand.pk) == 0

    brand.refresh_from_db()
    assert brand.poll_cursor["mentions"] == {"since_id": "1578516295611748353"}
    assert brand.last_poll_error.startswith(
        "Skipped 10 unreadable item(s): tweet 1578516295611748353"
    )
    assert "has no author_id" in brand.last_poll_error
    assert brand.is_healthy


def test_recorded_search_without_author_id_is_skipped_and_said(default_team, mocked_http):
    brand = x_brand()
    brand.listening_queries = "tweepy"
    brand.save()
    mocked_http.get(f"{X_API}/users/{X_BRAND}/mentions", json={"meta": {"result_count": 0}})
    mocked_http.get(
        f"{X_API}/tweets/search/recent",
        body=sample("x-api-v2/test_client_search_recent_tweets.0.json"),
        content_type="application/json",
    )

    assert poll_account(account_id=brand.pk) == 0

    brand.refresh_from_db()
    assert brand.poll_cursor["searches"]["tweepy"] == {"since_id": "1578516068309794817"}
    assert "Skipped 10 unreadable item(s)" in brand.last_poll_error


def test_documented_v2_tweet_is_polled_with_its_author_and_the_tweet_it_answers(
    default_team, mocked_http
):
    brand = x_brand()
    mentions = mocked_http.get(
        f"{X_API}/users/{X_BRAND}/mentions",
        body=sample("x-api-v2/v2_docs_example.json"),
        content_type="application/json",
    )

    assert poll_account(account_id=brand.pk) == 1

    post = Post.objects.get()
    assert post.in_reply_to == "1304102743196356610"
    assert (post.customer.handle, post.customer.follower_count) == ("TwitterDev", 507902)
    # Long posts and photos are asked for (note_tweet, attachments.media_keys).
    url = mentions.calls[0].request.url
    assert "note_tweet" in url and "attachments.media_keys" in url
    brand.refresh_from_db()
    assert brand.last_poll_error == ""


def test_recorded_empty_dm_page_stores_nothing_and_keeps_the_cursor(default_team, mocked_http):
    brand = x_brand(read_direct_messages=True)
    brand.poll_cursor = {"dm_since_id": "1585800613253812228"}
    brand.save()
    mocked_http.get(f"{X_API}/users/{X_BRAND}/mentions", json={"meta": {"result_count": 0}})
    mocked_http.get(
        f"{X_API}/dm_events",
        body=sample("x-api-v2/test_manage_and_lookup_direct_messages.3.json"),
        content_type="application/json",
    )

    assert poll_account(account_id=brand.pk) == 0

    brand.refresh_from_db()
    assert brand.poll_cursor["dm_since_id"] == "1585800613253812228"
    assert brand.last_poll_error == ""


@pytest.mark.parametrize("recording", ["4", "5"])
def test_recorded_dm_events_without_sender_are_skipped_and_the_cursor_passes_them(
    recording, default_team, mocked_http
):
    brand = x_brand(read_direct_messages=True)
    mocked_http.get(f"{X_API}/users/{X_BRAND}/mentions", json={"meta": {"result_count": 0}})
    mocked_http.get(
        f"{X_API}/dm_events",
        body=sample(f"x-api-v2/test_manage_and_lookup_direct_messages.{recording}.json"),
        content_type="application/json",
    )

    assert poll_account(account_id=brand.pk) == 0

    brand.refresh_from_db()
    assert brand.poll_cursor["dm_since_id"] == "1585800613752881156"
    assert "DM event 1585800613752881156: no sender_id" in brand.last_poll_error


def test_recorded_create_tweet_answer_gives_the_reply_its_id(mocked_http):
    from ingestion.services import deliver_reply
    from tests.factories import pending_reply

    brand = x_brand()
    inbound = PostFactory(
        conversation__account=brand,
        conversation__customer=CustomerFactory(platform=Platform.TWITTER),
        external_id="1456012973835788000",
    )
    reply = pending_reply(inbound, "Test Tweet")
    mocked_http.post(
        f"{X_API}/tweets",
        body=sample("x-api-v2/test_client_create_and_delete_tweet.0.json"),
        content_type="application/json",
        status=201,
    )

    sent = deliver_reply(post_id=reply.pk)

    assert (sent.delivery_status, sent.external_id) == ("sent", "1456012973835788293")
    assert json.loads(mocked_http.calls[0].request.body) == {
        "text": "Test Tweet",
        "reply": {"in_reply_to_tweet_id": "1456012973835788000"},
    }


@pytest.mark.parametrize("recording", ["0", "1", "2"])
def test_recorded_dm_answers_give_the_private_reply_its_event_id(recording, mocked_http):
    from ingestion.services import deliver_reply
    from tests.factories import pending_reply

    brand = x_brand()
    customer = CustomerFactory(platform=Platform.TWITTER, external_id="750362064426721281")
    inbound = PostFactory(conversation__account=brand, conversation__customer=customer)
    reply = pending_reply(inbound, "Testing 1")
    reply.is_private = True
    reply.save()
    body = sample(f"x-api-v2/test_manage_and_lookup_direct_messages.{recording}.json")
    mocked_http.post(
        f"{X_API}/dm_conversations/with/750362064426721281/messages",
        body=body,
        content_type="application/json",
        status=201,
    )

    sent = deliver_reply(post_id=reply.pk)

    assert sent.delivery_status == "sent"
    assert sent.external_id == json.loads(body)["data"]["dm_event_id"]


@pytest.mark.parametrize(
    ("recording", "keys"),
    [
        ("test_client_create_and_delete_tweet.1.json", "deleted"),
        ("test_manage_and_lookup_direct_messages.0.json", "dm_conversation_id, dm_event_id"),
    ],
)
def test_recorded_answers_without_posts_are_named_when_imported(recording, keys, tmp_path):
    x_brand()
    export = tmp_path / "answer.json"
    export.write_bytes(sample(f"x-api-v2/{recording}"))

    with pytest.raises(CommandError, match=rf"one object \(data: {keys}\), which carries no"):
        call_command("import_posts", str(export), "--account", "brand8596")

    assert Post.objects.count() == 0


def test_recorded_timeline_import_rejects_every_entry_with_the_reason_and_fails(tmp_path):
    x_brand()
    export = tmp_path / "timeline.json"
    export.write_bytes(sample("x-api-v2/test_client_get_home_timeline.0.json"))

    with pytest.raises(CommandError, match="No post was imported"):
        call_command("import_posts", str(export), "--account", "brand8596", "--platform", "twitter")


@pytest.mark.parametrize("recording", ["test_client_get_tweets.0.json"])
def test_recorded_tweet_lookup_import_says_why_each_entry_is_refused(recording, tmp_path, capsys):
    x_brand()
    export = tmp_path / "tweets.json"
    export.write_bytes(sample(f"x-api-v2/{recording}"))

    with pytest.raises(CommandError):
        call_command("import_posts", str(export), "--account", "brand8596", "--platform", "twitter")

    errors = capsys.readouterr().err
    assert "tweet 1293593516040269825 has no author_id" in errors


def test_recorded_single_tweet_document_is_recognised_and_explained(tmp_path):
    x_brand()
    export = tmp_path / "tweet.json"
    export.write_bytes(sample("x-api-v2/test_client_get_tweet.0.json"))

    with pytest.raises(CommandError, match="one X API v2 tweet"):
        call_command("import_posts", str(export), "--account", "brand8596", "--platform", "twitter")


def test_recorded_create_tweet_answer_imported_is_named_as_one_tweet(tmp_path):
    x_brand()
    export = tmp_path / "created.json"
    export.write_bytes(sample("x-api-v2/test_client_create_and_delete_tweet.0.json"))

    with pytest.raises(CommandError, match="one X API v2 tweet"):
        call_command("import_posts", str(export), "--account", "brand8596")
