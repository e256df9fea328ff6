"""Connecting an account as a brand would: per-platform credentials, refusals with reasons,
"Test connection", and replies that fail in words instead of crashing the agent's request."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse

from core.models import DeliveryStatus, Direction, Platform, Post
from ingestion.connectors.twitter import TwitterConnector
from ingestion.models import PlatformAccount
from tests.factories import CustomerFactory, PlatformAccountFactory, PostFactory
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, X_ACCOUNT_ID

pytestmark = pytest.mark.django_db

ADD = "/admin/ingestion/platformaccount/add/"
GRAPH = "https://graph.facebook.com/v21.0"


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678")
    client.force_login(user)
    return client


def _form(**fields):
    data = {
        "platform": "twitter",
        "handle": "acme",
        "external_id": X_ACCOUNT_ID,
        "display_name": "Acme",
        "is_active": "on",
        "is_healthy": "on",
        "listening_queries": "",
        "poll_interval_seconds": "60",
    }
    data.update(fields)
    return data


def _errors(response) -> str:
    assert response.status_code == 200  # the form again, with its errors
    return response.content.decode()


# --- the account form --------------------------------------------------------------------------


def test_an_x_account_without_credentials_is_refused(admin_client):
    page = _errors(admin_client.post(ADD, _form()))

    assert "An X account needs credentials: a bearer token to read" in page
    assert not PlatformAccount.objects.exists()


def test_meta_credentials_on_an_x_account_are_refused(admin_client):
    page = _errors(
        admin_client.post(ADD, _form(bearer_token="x-bearer", page_access_token="meta-token"))
    )

    assert "Not a credential of a X / Twitter account; leave it empty." in page
    assert not PlatformAccount.objects.exists()


def test_handles_are_normalised(admin_client):
    response = admin_client.post(ADD, _form(handle=" @@acme ", bearer_token="x-bearer"))

    assert response.status_code == 302, response.content
    assert PlatformAccount.objects.get().handle == "acme"


def test_a_second_account_with_the_same_platform_id_is_refused(admin_client, x_account):
    page = _errors(admin_client.post(ADD, _form(handle="acme_support", bearer_token="x-bearer")))

    assert "already has this X / Twitter id" in page
    assert PlatformAccount.objects.count() == 1


def test_an_x_account_shows_only_x_credentials(admin_client, x_account):
    page = admin_client.get(f"/admin/ingestion/platformaccount/{x_account.pk}/change/")

    assert b'name="bearer_token"' in page.content
    assert b'name="page_access_token"' not in page.content
    assert b'name="page_id"' not in page.content


def test_an_instagram_account_keeps_its_linked_page_id(admin_client):
    response = admin_client.post(
        ADD,
        _form(
            platform="instagram",
            external_id="17841400000009999",
            page_access_token="page-token",
            page_id="104000000000001",
        ),
    )

    assert response.status_code == 302, response.content
    assert PlatformAccount.objects.get().credentials["page_id"] == "104000000000001"


# --- Test connection ---------------------------------------------------------------------------


def _test_connection(admin_client, account) -> list[str]:
    response = admin_client.post(
        "/admin/ingestion/platformaccount/",
        {"action": "test_connection", "_selected_action": [account.pk]},
        follow=True,
    )
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_x_test_connection_says_what_works_and_what_does_not(admin_client, x_account, mocked_http):
    # GET /2/users/:id with the bearer token (app-only): reading works.
    mocked_http.get(
        f"https://api.twitter.com/2/users/{X_ACCOUNT_ID}",
        json={"data": {"id": X_ACCOUNT_ID, "name": "Acme", "username": "acme"}},
    )
    # GET /2/users/me with the user's OAuth 1.0a tokens: X refuses them.
    mocked_http.get(
        "https://api.twitter.com/2/users/me",
        status=401,
        json={
            "title": "Unauthorized",
            "type": "about:blank",
            "status": 401,
            "detail": "Unauthorized",
        },
    )

    said = _test_connection(admin_client, x_account)

    assert "@acme (X / Twitter): read: Mentions and searches can be read." in said
    assert any(
        line.startswith("@acme (X / Twitter): reply: X refused the credentials: 401")
        for line in said
    )
    assert "@acme (X / Twitter): DMs: Reading direct messages is not enabled." in said
    assert any("Account Activity webhooks need X's Enterprise access" in line for line in said)


def test_facebook_test_connection_lists_the_webhook_subscription(
    admin_client, facebook_page, mocked_http
):
    mocked_http.get(f"{GRAPH}/{FACEBOOK_PAGE_ID}", json={"id": FACEBOOK_PAGE_ID, "name": "Acme"})
    # GET /{page-id}/subscribed_apps: the apps subscribed to the page and their fields.
    mocked_http.get(
        f"{GRAPH}/{FACEBOOK_PAGE_ID}/subscribed_apps",
        json={"data": [{"name": "Parley", "id": "1000", "subscribed_fields": ["feed"]}]},
    )

    said = _test_connection(admin_client, facebook_page)

    assert "@acme (Facebook): read: The token reads Acme: posts and comments come in." in said
    assert "@acme (Facebook): webhooks: Subscribed to feed; missing messages." in said


def test_test_connection_on_an_account_without_id_says_so(admin_client):
    account = PlatformAccountFactory(platform=Platform.TWITTER, handle="acme", external_id="")

    said = _test_connection(admin_client, account)

    assert said == [
        "@acme (X / Twitter): credentials: @acme (X / Twitter) has no platform account id; "
        "set it in the admin before polling."
    ]


# --- replies that cannot go out ----------------------------------------------------------------


def test_reply_on_an_x_account_without_credentials_fails_in_words_in_the_agents_request(
    client, agent, default_team, django_capture_on_commit_callbacks
):
    account = PlatformAccountFactory(
        platform=Platform.TWITTER, handle="acme", external_id=X_ACCOUNT_ID, credentials={}
    )
    inbound = PostFactory(
        conversation__account=account,
        conversation__customer=CustomerFactory(platform=Platform.TWITTER),
        conversation__team=default_team,
        external_id="1800000000000000002",
    )
    client.force_login(agent)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("conversation", args=[inbound.conversation_id]),
            {"text": "On it!", "seen_post_id": inbound.pk, "channel": "public"},
        )

    assert response.status_code == 302
    reply = Post.objects.get(direction=Direction.OUTBOUND)
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert reply.delivery_error.startswith("@acme cannot publish on X: its OAuth 1.0a credentials")
    page = client.get(reverse("conversation", args=[inbound.conversation_id])).content.decode()
    assert "Not published: @acme cannot publish on X" in page


def test_an_unexpected_connector_error_is_a_failed_reply_with_the_reason(x_account, monkeypatch):
    from ingestion.services import deliver_reply
    from tests.factories import pending_reply

    def broken(self, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(TwitterConnector, "send_reply", broken)
    inbound = PostFactory(
        conversation__account=x_account,
        conversation__customer=CustomerFactory(platform=Platform.TWITTER),
    )
    reply = pending_reply(inbound, "Hello")

    failed = deliver_reply(post_id=reply.pk)

    assert failed.delivery_status == DeliveryStatus.FAILED
    assert failed.delivery_error.startswith(
        "Not sent: the X / Twitter connector failed (RuntimeError: boom)."
    )
    # The next attempt asks X before publishing: the call may have gone out.
    assert failed.reply_attempt.outcome_unknown is True
