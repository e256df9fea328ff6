"""Social actions on a post (issue 18 item 17): like, hide a comment, delete the brand's own
reply, block the author. Each asks the platform, records the post's state, notes who did it
(audited), and says a refusal in words, changing nothing."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import DeliveryStatus, Direction, Intent, Platform
from helpdesk.social import (
    SocialActionRefused,
    actions_for,
    block_author,
    delete_reply,
    hide_comment,
    like_post,
)
from tests.factories import (
    AGENT_PASSWORD,
    ConversationFactory,
    CustomerFactory,
    PlatformAccountFactory,
    PostFactory,
)
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, payload

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v21.0"


@pytest.fixture
def demo_post(default_team):
    conversation = ConversationFactory(team=default_team)
    return PostFactory(conversation=conversation, external_id="demo-acme-1")


@pytest.fixture
def facebook_comment(default_team, facebook_page):
    customer = CustomerFactory(platform=Platform.FACEBOOK, external_id="6001", handle="sam")
    conversation = ConversationFactory(team=default_team, account=facebook_page, customer=customer)
    return PostFactory(
        conversation=conversation, external_id="900001_700001", raw={"parley_kind": "comment"}
    )


def _brand_reply(inbound, *, external_id="demo-reply-1", status=DeliveryStatus.SENT):
    return PostFactory(
        conversation=inbound.conversation,
        direction=Direction.OUTBOUND,
        customer=None,
        external_id=external_id,
        delivery_status=status,
        text="Sorry about that, we are on it.",
    )


def _notes(post):
    return list(post.conversation.notes.values_list("text", flat=True))


def test_like_records_when_and_notes_who(demo_post, agent):
    liked = like_post(post_id=demo_post.pk, agent=agent)

    assert liked.liked_at is not None
    assert _notes(demo_post) == [f"Liked the post of @{demo_post.customer.handle}."]
    assert demo_post.conversation.notes.get().author == agent


def test_unlike_clears_the_like(demo_post, agent):
    like_post(post_id=demo_post.pk, agent=agent)

    unliked = like_post(post_id=demo_post.pk, agent=agent, liked=False)

    assert unliked.liked_at is None


def test_hide_and_unhide_are_in_the_audit_log(demo_post, agent):
    hide_comment(post_id=demo_post.pk, agent=agent)
    shown = hide_comment(post_id=demo_post.pk, agent=agent, hidden=False)

    assert shown.hidden_at is None
    changes = [e.changes_dict for e in LogEntry.objects.get_for_object(demo_post).order_by("pk")]
    assert [set(change) for change in changes] == [{"hidden_at"}, {"hidden_at"}]
    assert changes[0]["hidden_at"][0] is None  # hidden, then shown again
    assert changes[1]["hidden_at"][1] is None


def test_delete_marks_the_brands_reply_deleted_and_keeps_it_in_the_thread(demo_post, agent):
    reply = _brand_reply(demo_post)

    deleted = delete_reply(post_id=reply.pk, agent=agent)

    assert deleted.deleted_at is not None
    assert demo_post.conversation.posts.filter(pk=reply.pk).exists()
    assert actions_for(deleted) == frozenset()


def test_a_customers_post_cannot_be_deleted(demo_post, agent):
    with pytest.raises(SocialActionRefused, match="Only a reply the brand published"):
        delete_reply(post_id=demo_post.pk, agent=agent)


def test_a_reply_not_yet_published_cannot_be_deleted(demo_post, agent):
    reply = _brand_reply(demo_post, external_id=None, status=DeliveryStatus.PENDING)

    with pytest.raises(SocialActionRefused):
        delete_reply(post_id=reply.pk, agent=agent)

    reply.refresh_from_db()
    assert reply.deleted_at is None


def test_block_blocks_the_author_and_sets_the_conversation_aside_as_spam(demo_post, agent):
    customer = block_author(post_id=demo_post.pk, agent=agent)

    assert customer.blocked_at is not None
    conversation = demo_post.conversation
    conversation.refresh_from_db()
    assert (conversation.needs_reply, conversation.intent) == (False, Intent.SPAM)
    assert f"Blocked @{customer.handle} on Demo." in _notes(demo_post)
    audited = LogEntry.objects.get_for_object(customer).filter(action=LogEntry.Action.UPDATE)
    assert audited.get().changes_dict.keys() == {"blocked_at"}


def test_a_blocked_author_cannot_be_blocked_twice(demo_post, agent):
    block_author(post_id=demo_post.pk, agent=agent)

    with pytest.raises(SocialActionRefused, match="already blocked"):
        block_author(post_id=demo_post.pk, agent=agent)


def test_private_messages_take_no_social_action(default_team, agent):
    message = PostFactory(
        conversation=ConversationFactory(team=default_team), raw={"parley_kind": "message"}
    )

    assert actions_for(message) == frozenset()
    with pytest.raises(SocialActionRefused):
        like_post(post_id=message.pk, agent=agent)


def test_hide_is_offered_on_meta_comments_only(default_team):
    x_account = PlatformAccountFactory(platform=Platform.TWITTER, external_id="1")
    tweet = PostFactory(conversation=ConversationFactory(account=x_account))
    instagram = PlatformAccountFactory(platform=Platform.INSTAGRAM, external_id="2")
    ig_comment = PostFactory(
        conversation=ConversationFactory(account=instagram), raw={"parley_kind": "comment"}
    )

    assert actions_for(tweet) == {"like", "block"}
    assert actions_for(ig_comment) == {"hide"}  # Instagram's API cannot like nor block


def test_facebook_hide_calls_meta_and_marks_the_comment(facebook_comment, agent, mocked_http):
    mocked_http.post(f"{GRAPH}/900001_700001", json=payload("meta_success.json"))

    hidden = hide_comment(post_id=facebook_comment.pk, agent=agent)

    assert hidden.hidden_at is not None
    assert "is_hidden=true" in mocked_http.calls[0].request.body


def test_facebook_refusal_is_said_in_words_and_changes_nothing(
    facebook_comment, agent, mocked_http
):
    mocked_http.post(f"{GRAPH}/900001_700001", status=400, json=payload("meta_hide_refused.json"))

    with pytest.raises(SocialActionRefused) as refused:
        hide_comment(post_id=facebook_comment.pk, agent=agent)

    assert "Facebook refused to hide this comment" in refused.value.messages[0]
    assert "You cannot hide this comment" in refused.value.messages[0]
    facebook_comment.refresh_from_db()
    assert facebook_comment.hidden_at is None
    assert _notes(facebook_comment) == []


def test_facebook_block_sends_the_author_to_the_pages_blocked_list(
    facebook_comment, agent, mocked_http
):
    mocked_http.post(f"{GRAPH}/{FACEBOOK_PAGE_ID}/blocked", json=payload("meta_page_blocked.json"))

    customer = block_author(post_id=facebook_comment.pk, agent=agent)

    assert customer.blocked_at is not None


# --- the page and the API -----------------------------------------------------------------


@pytest.fixture
def logged_in(client, agent):
    client.login(username=agent.username, password=AGENT_PASSWORD)
    return client


def test_the_page_offers_the_buttons_and_shows_the_state(logged_in, demo_post):
    reply = _brand_reply(demo_post)
    url = reverse("conversation", args=[demo_post.conversation_id])
    action = reverse(
        "conversation_post_action", args=[demo_post.conversation_id, demo_post.pk, "hide"]
    )

    page = logged_in.get(url).content.decode()
    assert action in page
    delete = reverse(
        "conversation_post_action", args=[demo_post.conversation_id, reply.pk, "delete"]
    )
    assert delete in page

    response = logged_in.post(action, follow=True)

    page = response.content.decode()
    assert "Comment hidden on Demo." in page
    assert "Hidden from the public" in page
    assert (
        reverse(
            "conversation_post_action", args=[demo_post.conversation_id, demo_post.pk, "unhide"]
        )
        in page
    )


def test_the_page_shows_a_platform_refusal(logged_in, facebook_comment, mocked_http):
    mocked_http.post(f"{GRAPH}/900001_700001", status=400, json=payload("meta_hide_refused.json"))
    action = reverse(
        "conversation_post_action",
        args=[facebook_comment.conversation_id, facebook_comment.pk, "hide"],
    )

    response = logged_in.post(action)

    assert response.status_code == 400
    assert "You cannot hide this comment" in response.content.decode()


def test_a_post_of_another_conversation_is_not_found(logged_in, demo_post, default_team):
    other = ConversationFactory(team=default_team)
    action = reverse("conversation_post_action", args=[other.pk, demo_post.pk, "like"])

    assert logged_in.post(action).status_code == 404


def test_api_likes_a_post_and_shows_its_state(agent, demo_post):
    api = APIClient()
    api.force_authenticate(agent)
    url = f"/api/conversations/{demo_post.conversation_id}/posts/{demo_post.pk}/actions/"

    response = api.post(url, {"action": "like"}, format="json")

    assert response.status_code == 200
    assert response.data["liked_at"] is not None


def test_api_refusal_is_a_400_in_words(agent, facebook_comment, mocked_http):
    mocked_http.post(f"{GRAPH}/900001_700001", status=400, json=payload("meta_hide_refused.json"))
    api = APIClient()
    api.force_authenticate(agent)
    conversation_id, post_id = facebook_comment.conversation_id, facebook_comment.pk
    url = f"/api/conversations/{conversation_id}/posts/{post_id}/actions/"

    response = api.post(url, {"action": "hide"}, format="json")

    assert response.status_code == 400
    assert "You cannot hide this comment" in response.data["detail"][0]
    assert api.post(url, {"action": "dance"}, format="json").status_code == 400
