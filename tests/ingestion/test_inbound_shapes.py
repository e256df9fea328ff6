"""What X, Facebook and Instagram really send, beyond the shared samples: quote tweets and
retweets by poll, photos, long posts, escaped text, every Facebook feed item, comments
without an author, and paged Messenger conversations."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from responses import matchers

from core.models import Conversation, Customer, Platform, Post
from helpdesk.selectors import conversation_cards
from ingestion.models import WebhookDelivery
from ingestion.services import poll_account
from tests.factories import CustomerFactory, PostFactory
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, PAYLOADS, X_ACCOUNT_ID, payload
from tests.ingestion.test_webhooks import META_URL, meta_signature

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v21.0"
SAMPLES = PAYLOADS / "samples"
MENTIONS = f"https://api.twitter.com/2/users/{X_ACCOUNT_ID}/mentions"


def deliver_meta(client, capture, body: dict):
    raw = json.dumps(body).encode()
    with capture(execute=True):
        response = client.post(
            META_URL,
            raw,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=meta_signature(raw),
        )
    assert response.status_code == 200


# --- X by poll ---------------------------------------------------------------------------------


def test_polled_mentions_keep_photos_full_long_text_quotes_and_count_retweets(
    x_account, default_team, mocked_http, client, admin_user
):
    brand_tweet = PostFactory(
        conversation__account=x_account,
        conversation__customer=CustomerFactory(platform=Platform.TWITTER),
        external_id="1800000000000000050",
        raw={"public_metrics": {"retweet_count": 1, "like_count": 0}},
    )
    mocked_http.get(MENTIONS, json=payload("x_mentions_media_quotes.json"))

    stored = poll_account(account_id=x_account.pk)

    assert stored == 4  # the retweet is not a post
    posts = {post.external_id: post for post in Post.objects.exclude(pk=brand_tweet.pk)}
    assert set(posts) == {
        "1578095129495482369",
        "1800000000000000101",
        "1800000000000000102",
        "1800000000000000103",
    }
    # Unescaped once, when read: what the customer typed.
    assert posts["1578095129495482369"].text.startswith("So @alanbenlee @snowman & I are")
    assert (
        posts["1800000000000000101"].text == "@acme the box arrived crushed <sigh> https://t.co/p1c"
    )
    # The long post whole, not its first 280 characters.
    assert posts["1800000000000000102"].text.endswith(
        "the confirmation email & the tracking number."
    )
    photo = posts["1800000000000000101"].raw["parley_attachments"]
    assert photo == [
        {
            "type": "photo",
            "url": "https://pbs.twimg.com/media/FeE1dAaXgAAbX9J.jpg",
            "preview_url": "https://pbs.twimg.com/media/FeE1dAaXgAAbX9J.jpg",
            "alt_text": "A crushed cardboard box",
        }
    ]
    quote = posts["1800000000000000103"]
    assert quote.raw["parley_quoted"]["text"] == "Free shipping all week & no minimum"
    brand_tweet.refresh_from_db()
    assert brand_tweet.raw["public_metrics"]["retweet_count"] == 40
    x_account.refresh_from_db()
    assert x_account.poll_cursor["mentions"] == {"since_id": "1800000000000000104"}

    client.force_login(admin_user)
    page = client.get(reverse("conversation", args=[quote.conversation_id])).content.decode()
    assert "Quoting: Free shipping all week &amp; no minimum" in page
    photo_page = client.get(
        reverse("conversation", args=[posts["1800000000000000101"].conversation_id])
    ).content.decode()
    assert 'alt="A crushed cardboard box"' in photo_page
    assert "&lt;sigh&gt;" in photo_page  # escaped again on output, once


def test_a_retweet_by_poll_opens_no_conversation(x_account, default_team, mocked_http):
    body = payload("x_mentions_media_quotes.json")
    body["data"] = [tweet for tweet in body["data"] if tweet["id"] == "1800000000000000104"]
    mocked_http.get(MENTIONS, json=body)

    assert poll_account(account_id=x_account.pk) == 0

    assert Conversation.objects.count() == 0
    assert Customer.objects.count() == 0


# --- Facebook feed webhooks --------------------------------------------------------------------


def test_visitor_photo_video_share_and_album_posts_are_stored_with_their_media(
    client, facebook_page, default_team, django_capture_on_commit_callbacks
):
    liked = PostFactory(
        conversation__account=facebook_page,
        conversation__customer=CustomerFactory(platform=Platform.FACEBOOK),
        external_id="111222333_900001",
        raw={},
    )

    deliver_meta(
        client, django_capture_on_commit_callbacks, payload("meta_feed_media_webhook.json")
    )

    posts = {post.external_id: post for post in Post.objects.exclude(pk=liked.pk)}
    assert set(posts) == {
        "111222333_900010",
        "111222333_900011",
        "111222333_900012",
        "111222333_900013",
    }
    photo = posts["111222333_900010"]
    assert photo.text == "your product arrived broken, see photo"
    assert photo.customer.display_name == "Jenny Park"  # from sender_id / sender_name
    assert [a["url"] for a in photo.raw["parley_attachments"]] == [
        "https://scontent.xx.fbcdn.net/v/t1.0-9/17352225_900010_n.jpg"
    ]
    assert posts["111222333_900011"].raw["parley_attachments"][0]["type"] == "video"
    assert posts["111222333_900012"].raw["parley_attachments"][0] == {
        "type": "link",
        "url": "https://news.example.com/recall",
        "preview_url": "",
        "alt_text": "",
    }
    assert len(posts["111222333_900013"].raw["parley_attachments"]) == 2
    # The reaction counted on the post it is about, not stored as a post.
    liked.refresh_from_db()
    assert liked.raw["like_count"] == 1
    assert WebhookDelivery.objects.get().error == ""


def test_comments_without_from_are_two_unknown_authors_not_one_customer(
    client, admin_user, facebook_page, default_team, mocked_http, django_capture_on_commit_callbacks
):
    # Asked again who wrote them, Meta still does not say (GET /{comment-id}?fields=from).
    asked = [
        mocked_http.get(f"{GRAPH}/{comment}", json={"id": comment})
        for comment in ("900001_700021", "900001_700022")
    ]

    deliver_meta(
        client, django_capture_on_commit_callbacks, payload("meta_feed_comments_without_from.json")
    )

    first, second = Post.objects.order_by("created_at")
    assert first.customer != second.customer
    assert first.conversation != second.conversation
    assert first.customer.external_id == "unknown:900001_700021"
    assert first.customer.display_name == "Unknown author"
    assert not Customer.objects.filter(external_id="").exists()
    client.force_login(admin_user)
    page = client.get(reverse("conversation", args=[first.conversation_id])).content.decode()
    assert "Unknown author" in page
    assert [call.call_count for call in asked] == [1, 1]
    assert first.customer.platform_profile.error == "The platform does not say who wrote it."


def test_an_unknown_author_the_token_may_see_becomes_that_customer(
    client, facebook_page, default_team, mocked_http, django_capture_on_commit_callbacks
):
    known = CustomerFactory(platform=Platform.FACEBOOK, external_id="4400009", handle="Ana Silva")
    mocked_http.get(
        f"{GRAPH}/900001_700021",
        json={"id": "900001_700021", "from": {"id": "4400009", "name": "Ana Silva"}},
    )
    mocked_http.get(
        f"{GRAPH}/900001_700022",
        json={"id": "900001_700022", "from": {"id": "4400010", "name": "Omar Haddad"}},
    )

    deliver_meta(
        client, django_capture_on_commit_callbacks, payload("meta_feed_comments_without_from.json")
    )

    first, second = Post.objects.order_by("created_at")
    assert first.customer == known  # an existing customer: the post moved to them
    assert first.conversation.customer == known
    assert (second.customer.external_id, second.customer.display_name) == ("4400010", "Omar Haddad")
    assert not Customer.objects.filter(external_id__startswith="unknown:").exists()


def test_polled_comment_without_from_is_an_unknown_author_too(
    facebook_page, default_team, mocked_http
):
    feed = {
        "data": [
            {
                "id": "111222333_900001",
                "message": "New kettle, now in red",
                "created_time": "2024-06-01T09:00:00+0000",
                "from": {"id": FACEBOOK_PAGE_ID, "name": "Acme"},
                "comments": {
                    "data": [
                        {
                            "id": "900001_700031",
                            "message": "Does it come in blue?",
                            "created_time": "2024-06-01T09:10:00+0000",
                        },
                        {
                            "id": "900001_700032",
                            "message": "Mine leaks",
                            "created_time": "2024-06-01T09:11:00+0000",
                        },
                    ]
                },
            }
        ]
    }
    mocked_http.get(f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed", json=feed)
    mocked_http.get(f"{GRAPH}/{FACEBOOK_PAGE_ID}/conversations", json={"data": []})
    for comment in ("900001_700031", "900001_700032"):
        mocked_http.get(f"{GRAPH}/{comment}", json={"id": comment})

    assert poll_account(account_id=facebook_page.pk) == 2

    assert set(Customer.objects.values_list("external_id", flat=True)) == {
        "unknown:900001_700031",
        "unknown:900001_700032",
    }
    assert Conversation.objects.count() == 2


def test_imported_feed_comment_without_from_is_an_unknown_author_too(
    tmp_path, facebook_page, default_team
):
    export = tmp_path / "feed.json"
    export.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "id": "111222333_900001",
                        "message": "New kettle",
                        "created_time": "2024-06-01T09:00:00+0000",
                        "from": {"id": FACEBOOK_PAGE_ID, "name": "Acme"},
                        "comments": {
                            "data": [
                                {
                                    "id": "900001_700041",
                                    "message": "Does it come in blue?",
                                    "created_time": "2024-06-01T09:10:00+0000",
                                }
                            ]
                        },
                    }
                ]
            }
        )
    )
    out = StringIO()

    call_command(
        "import_posts", str(export), "--account", "acme", "--platform", "facebook", stdout=out
    )

    assert "Imported 1 posts" in out.getvalue()
    assert Post.objects.get().customer.external_id == "unknown:900001_700041"


# --- Messenger conversations by poll -----------------------------------------------------------


def test_conversations_poll_follows_the_paging_cursor(facebook_page, default_team, mocked_http):
    mocked_http.get(f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed", json={"data": []})
    second_page = {
        "data": [
            {
                "id": "t_100000002",
                "updated_time": "2024-06-01T09:40:00+0000",
                "messages": {
                    "data": [
                        {
                            "id": "m_BBBB1",
                            "message": "Order 77 is wrong",
                            "created_time": "2024-06-01T09:40:00+0000",
                            "from": {"id": "5500002", "name": "Ana Silva"},
                        }
                    ]
                },
            }
        ]
    }
    mocked_http.get(
        f"{GRAPH}/{FACEBOOK_PAGE_ID}/conversations",
        json=second_page,
        match=[matchers.query_param_matcher({"after": "QVFIUm1"}, strict_match=False)],
    )
    first_page = payload("meta_conversations.json")
    first_page["paging"] = {
        "cursors": {"before": "QVFIUm0", "after": "QVFIUm1"},
        "next": f"{GRAPH}/{FACEBOOK_PAGE_ID}/conversations?access_token=page-token"
        "&platform=messenger&limit=25&after=QVFIUm1",
    }
    mocked_http.get(f"{GRAPH}/{FACEBOOK_PAGE_ID}/conversations", json=first_page)

    assert poll_account(account_id=facebook_page.pk) == 2

    assert set(Post.objects.values_list("external_id", flat=True)) == {"m_AAAA1", "m_BBBB1"}


# --- X by webhook: quote tweets and DM photos ----------------------------------------------------


def deliver_x(client, capture, body: dict):
    from tests.ingestion.test_webhooks import X_URL, x_signature

    raw = json.dumps(body).encode()
    with capture(execute=True):
        response = client.post(
            X_URL,
            raw,
            content_type="application/json",
            HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=x_signature(raw),
        )
    assert response.status_code == 200


def test_a_quote_tweet_by_webhook_is_a_post_with_the_quoted_tweet_beside_it(
    client, x_account, default_team, django_capture_on_commit_callbacks
):
    # The recorded reply, made a quote of the recorded plain status (v1.1 `quoted_status`).
    body = json.loads((SAMPLES / "x-account-activity/tweet_create_reply.json").read_text())
    quoted = json.loads((SAMPLES / "x-account-activity/tweet_create_status.json").read_text())
    body["for_user_id"] = X_ACCOUNT_ID
    tweet = body["tweet_create_events"][0]
    tweet.update(
        is_quote_status=True,
        quoted_status_id_str="266367358078169089",
        quoted_status=quoted["tweet_create_events"][0],
    )

    deliver_x(client, django_capture_on_commit_callbacks, body)

    post = Post.objects.get()
    assert post.external_id == "1149678185375600641"
    assert post.raw["parley_quoted"] == {
        "id": "266367358078169089",
        "handle": "Twitter",
        "text": 'RT @TwitterEng: Bolstering our infrastructure. "As  usage patterns change, '
        'Twitter can remain resilient." http://t.co/uML86B6s',
    }


def test_a_dm_photo_by_webhook_is_kept_and_the_text_unescaped(
    client, x_account, default_team, django_capture_on_commit_callbacks
):
    body = json.loads((SAMPLES / "x-account-activity/dm_docs.json").read_text())
    body["for_user_id"] = X_ACCOUNT_ID
    data = body["direct_message_events"][0]["message_create"]["message_data"]
    data["text"] = "Broken on arrival &amp; no reply &lt;3 weeks&gt; https://t.co/abc"
    # X's DM attachment: {"type": "media", "media": <a media entity>}.
    data["attachment"] = {
        "type": "media",
        "media": {
            "id_str": "954491781902376960",
            "media_url_https": "https://ton.twitter.com/1.1/ton/data/dm/954491830116155396/954491781902376960/abc.jpg",
            "type": "photo",
        },
    }

    deliver_x(client, django_capture_on_commit_callbacks, body)

    message = Post.objects.get()
    assert message.text == "Broken on arrival & no reply <3 weeks> https://t.co/abc"
    assert message.raw["parley_attachments"][0]["type"] == "photo"


def test_the_inbox_names_an_unknown_author_without_a_bare_at(
    client, admin_user, facebook_page, default_team, mocked_http, django_capture_on_commit_callbacks
):
    for comment in ("900001_700021", "900001_700022"):
        mocked_http.get(f"{GRAPH}/{comment}", json={"id": comment})
    deliver_meta(
        client, django_capture_on_commit_callbacks, payload("meta_feed_comments_without_from.json")
    )
    client.force_login(admin_user)

    inbox = client.get(reverse("inbox")).content.decode()

    assert inbox.count(">Unknown author</a>") == 2
    assert ">@</a>" not in inbox
    # The live inbox row the browser builds from a push says the same.
    cards = conversation_cards(list(Conversation.objects.values_list("pk", flat=True)))
    assert [card["customer"] for card in cards] == ["Unknown author", "Unknown author"]


def test_a_photo_without_text_processed_later_is_classified_and_keeps_its_empty_text(
    facebook_page, default_team, monkeypatch
):
    from ingestion import pipeline
    from ingestion.pipeline import process_inbound_posts

    read = []
    real_triage = pipeline.triage_posts

    def triage_posts(posts):
        read.extend(post.text for post in posts)
        return real_triage(posts)

    monkeypatch.setattr(pipeline, "triage_posts", triage_posts)

    photo = PostFactory(
        conversation__account=facebook_page,
        conversation__customer=CustomerFactory(platform=Platform.FACEBOOK),
        text="",
        intent="",
        raw={"parley_attachments": [{"type": "photo", "url": "https://x.fbcdn.net/a.jpg"}]},
    )

    assert process_inbound_posts(post_ids=[photo.pk]) == 1

    assert read == ["[photo]"]  # what the classifier read
    photo.refresh_from_db()
    assert photo.intent
    assert photo.text == ""  # what is stored and shown is what the customer sent


def test_reactions_in_one_delivery_are_all_counted_on_their_post(
    client, facebook_page, default_team, django_capture_on_commit_callbacks
):
    liked = PostFactory(
        conversation__account=facebook_page,
        conversation__customer=CustomerFactory(platform=Platform.FACEBOOK),
        external_id="111222333_900001",
        raw={"like_count": 10},
    )
    body = payload("meta_feed_media_webhook.json")
    reaction = body["entry"][0]["changes"][4]
    body["entry"][0]["changes"] = [
        {**reaction, "value": {**reaction["value"], "from": {"id": f"44000{n}", "name": "A"}}}
        for n in range(3)
    ]

    deliver_meta(client, django_capture_on_commit_callbacks, body)

    liked.refresh_from_db()
    assert liked.raw["like_count"] == 13
    assert Post.objects.count() == 1


def test_polled_visitor_photo_post_keeps_its_photo(facebook_page, default_team, mocked_http):
    # Page feed with `attachments{media_type,type,url,description,media{image{src}}}` (Graph
    # API reference, "Story Attachment").
    feed = {
        "data": [
            {
                "id": "111222333_900020",
                "message": "Arrived like this",
                "created_time": "2024-06-01T09:00:00+0000",
                "from": {"id": "4400007", "name": "Rui Costa"},
                "attachments": {
                    "data": [
                        {
                            "media_type": "photo",
                            "type": "photo",
                            "url": "https://www.facebook.com/photo.php?fbid=900021",
                            "description": "A dented kettle",
                            "media": {
                                "image": {
                                    "src": "https://scontent.xx.fbcdn.net/v/t39.30808-6/900021_n.jpg",
                                    "width": 720,
                                    "height": 540,
                                }
                            },
                        }
                    ]
                },
            }
        ]
    }
    mocked_http.get(f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed", json=feed)
    mocked_http.get(f"{GRAPH}/{FACEBOOK_PAGE_ID}/conversations", json={"data": []})

    assert poll_account(account_id=facebook_page.pk) == 1

    assert Post.objects.get().raw["parley_attachments"] == [
        {
            "type": "photo",
            "url": "https://www.facebook.com/photo.php?fbid=900021",
            "preview_url": "https://scontent.xx.fbcdn.net/v/t39.30808-6/900021_n.jpg",
            "alt_text": "A dented kettle",
        }
    ]
