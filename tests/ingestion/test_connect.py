"""Connecting accounts from Parley, end to end against recorded platform answers: Facebook
Login (manual flow) with a Page linked to Instagram and one without, a refused code; X's
3-legged OAuth 1.0a, and a refused request token."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import override_settings
from responses import matchers

from core.models import Platform
from ingestion.models import PlatformAccount

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v21.0"
META = {"META_APP_ID": "1234567890", "META_APP_SECRET": "app-secret"}
X = {"X_CONSUMER_KEY": "x-key", "X_CONSUMER_SECRET": "x-secret", "X_BEARER_TOKEN": "x-bearer"}
ACCOUNTS = "/admin/ingestion/platformaccount/"


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678")
    client.force_login(user)
    return client


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def start_meta(admin_client) -> str:
    response = admin_client.get("/connect/meta/")
    assert response.status_code == 302
    dialog = urlsplit(response.url)
    # The login dialog of the configured Graph API version (manual flow):
    # https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
    assert (dialog.netloc, dialog.path) == ("www.facebook.com", "/v21.0/dialog/oauth")
    query = {key: values[0] for key, values in parse_qs(dialog.query).items()}
    assert query["client_id"] == "1234567890"
    assert query["redirect_uri"] == "http://testserver/connect/meta/callback/"
    assert "pages_messaging" in query["scope"] and "instagram_manage_messages" in query["scope"]
    return query["state"]


def record_meta_login(mocked_http):
    # Code for a short-lived user token, then the long-lived exchange
    # (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived).
    mocked_http.get(
        f"{GRAPH}/oauth/access_token",
        json={"access_token": "long-user-token", "token_type": "bearer", "expires_in": 5183944},
        match=[
            matchers.query_param_matcher({"grant_type": "fb_exchange_token"}, strict_match=False)
        ],
    )
    mocked_http.get(
        f"{GRAPH}/oauth/access_token",
        json={"access_token": "short-user-token", "token_type": "bearer", "expires_in": 5183},
        match=[matchers.query_param_matcher({"code": "the-code"}, strict_match=False)],
    )
    # GET /me/accounts with the linked Instagram professional account, as Meta's getting
    # started guide for the Instagram Graph API shows it.
    return mocked_http.get(
        f"{GRAPH}/me/accounts",
        json={
            "data": [
                {
                    "id": "134895793791914",
                    "name": "Acme Kettles",
                    "access_token": "page-token-1",
                    "instagram_business_account": {
                        "id": "17841405822304914",
                        "username": "acmekettles",
                    },
                },
                {"id": "134895793791999", "name": "Acme Outlet", "access_token": "page-token-2"},
            ],
            "paging": {"cursors": {"before": "MTM0", "after": "MTM1"}},
        },
    )


@override_settings(**META)
def test_meta_connect_lists_pages_stores_tokens_and_subscribes_webhooks(admin_client, mocked_http):
    state = start_meta(admin_client)
    pages = record_meta_login(mocked_http)
    # POST /{page-id}/subscribed_apps with subscribed_fields, the Page token:
    # https://developers.facebook.com/docs/graph-api/reference/page/subscribed_apps/
    subscribe_1 = mocked_http.post(
        f"{GRAPH}/134895793791914/subscribed_apps", json={"success": True}
    )
    subscribe_2 = mocked_http.post(
        f"{GRAPH}/134895793791999/subscribed_apps", json={"success": True}
    )

    picker = admin_client.get("/connect/meta/callback/", {"code": "the-code", "state": state})

    assert picker.status_code == 200
    page = picker.content.decode()
    assert "Acme Kettles" in page and "@acmekettles" in page
    assert "No Instagram professional account is linked to this Page." in page
    assert "page-token" not in page  # tokens stay on the server
    assert "page-token" not in str(dict(admin_client.session))  # encrypted there
    assert "access_token=long-user-token" in pages.calls[0].request.url

    done = admin_client.post(
        "/connect/meta/callback/",
        {"page": ["134895793791914", "134895793791999"], "instagram": ["134895793791914"]},
        follow=True,
    )

    accounts = {(a.platform, a.external_id): a for a in PlatformAccount.objects.all()}
    assert set(accounts) == {
        (Platform.FACEBOOK, "134895793791914"),
        (Platform.INSTAGRAM, "17841405822304914"),
        (Platform.FACEBOOK, "134895793791999"),
    }
    instagram = accounts[(Platform.INSTAGRAM, "17841405822304914")]
    assert instagram.handle == "acmekettles"
    assert instagram.credentials == {
        "page_access_token": "page-token-1",
        "page_id": "134895793791914",
    }
    assert accounts[(Platform.FACEBOOK, "134895793791999")].credentials == {
        "page_access_token": "page-token-2"
    }
    body = parse_qs(subscribe_1.calls[0].request.body)
    assert body["subscribed_fields"] == ["feed,messages,messaging_postbacks,message_echoes"]
    assert body["access_token"] == ["page-token-1"]
    assert subscribe_2.call_count == 1
    assert any(
        line.startswith("Connected @Acme Kettles (Facebook), @acmekettles") for line in said(done)
    )


@override_settings(**META)
def test_meta_connect_with_a_refused_code_says_why_and_connects_nothing(admin_client, mocked_http):
    state = start_meta(admin_client)
    mocked_http.get(
        f"{GRAPH}/oauth/access_token",
        status=400,
        json={
            "error": {
                "message": "Invalid verification code format.",
                "type": "OAuthException",
                "code": 100,
                "fbtrace_id": "AbCdEf",
            }
        },
    )

    response = admin_client.get(
        "/connect/meta/callback/", {"code": "forged", "state": state}, follow=True
    )

    assert said(response) == [
        "Facebook refused the login: Facebook answered: Invalid verification code format. "
        "(code 100)"
    ]
    assert not PlatformAccount.objects.exists()


@override_settings(**META)
def test_meta_callback_without_our_state_is_refused(admin_client, mocked_http):
    start_meta(admin_client)

    response = admin_client.get(
        "/connect/meta/callback/", {"code": "the-code", "state": "someone-elses"}, follow=True
    )

    assert said(response) == ["This Facebook login was not started here; start again."]
    assert len(mocked_http.calls) == 0


def test_meta_connect_without_an_app_id_says_what_to_set(admin_client):
    response = admin_client.get("/connect/meta/", follow=True)

    assert said(response) == ["Set META_APP_ID and META_APP_SECRET to connect with Facebook."]


def test_connect_pages_are_for_staff_only(client):
    response = client.get("/connect/x/")

    assert response.status_code == 302
    assert "/admin/login/" in response.url


# --- X -----------------------------------------------------------------------------------------

# X's documented examples for the 3-legged flow (POST oauth/request_token, POST
# oauth/access_token): https://docs.x.com/resources/fundamentals/authentication/oauth-1-0a/obtaining-user-access-tokens
REQUEST_TOKEN = (
    "oauth_token=NPcudxy0yU5T3tBzho7iCotZ3cnetKwcTIRlX0iwRl0"
    "&oauth_token_secret=veNRnAWe6inFuo8o2u8SLLZLjolYDmDP7SzL0YfYI"
    "&oauth_callback_confirmed=true"
)
ACCESS_TOKEN = (
    "oauth_token=7588892-kagSNqWge8gB1WwE3plnFsJHAZVfxWD7Vb57p0b4"
    "&oauth_token_secret=PbKfYqSryyeKDWz4ebtY3o5ogNLG11WJuZBc9fQrQo"
    "&user_id=7588892&screen_name=acme_care"
)


@override_settings(**X)
def test_x_connect_stores_the_access_token_pair_of_the_authorising_account(
    admin_client, mocked_http
):
    request_token = mocked_http.post(
        "https://api.twitter.com/oauth/request_token", body=REQUEST_TOKEN
    )

    start = admin_client.get("/connect/x/")

    assert start.status_code == 302
    assert start.url == (
        "https://api.twitter.com/oauth/authorize?oauth_token=NPcudxy0yU5T3tBzho7iCotZ3cnetKwcTIRlX0iwRl0"
    )
    assert b"oauth_callback" in request_token.calls[0].request.headers["Authorization"]
    access = mocked_http.post("https://api.twitter.com/oauth/access_token", body=ACCESS_TOKEN)
    mocked_http.get(
        "https://api.twitter.com/2/users/me",
        json={"data": {"id": "7588892", "name": "Acme Care", "username": "acme_care"}},
    )

    done = admin_client.get(
        "/connect/x/callback/",
        {
            "oauth_token": "NPcudxy0yU5T3tBzho7iCotZ3cnetKwcTIRlX0iwRl0",
            "oauth_verifier": "uw7NjWHT6OJ1MpJOXsHfNxoAhPKpgI8BlYDhxEjIBY",
        },
        follow=True,
    )

    assert (
        b'oauth_verifier="uw7NjWHT6OJ1MpJOXsHfNxoAhPKpgI8BlYDhxEjIBY"'
        in access.calls[0].request.headers["Authorization"]
    )
    account = PlatformAccount.objects.get()
    assert (account.platform, account.external_id, account.handle) == (
        Platform.TWITTER,
        "7588892",
        "acme_care",
    )
    assert account.credentials == {
        "consumer_key": "x-key",
        "consumer_secret": "x-secret",
        "access_token": "7588892-kagSNqWge8gB1WwE3plnFsJHAZVfxWD7Vb57p0b4",
        "access_token_secret": "PbKfYqSryyeKDWz4ebtY3o5ogNLG11WJuZBc9fQrQo",
        "bearer_token": "x-bearer",
    }
    assert said(done) == ["Connected @acme_care (X / Twitter)."]


@override_settings(**X)
def test_x_connect_with_a_refused_token_says_why(admin_client, mocked_http):
    mocked_http.post("https://api.twitter.com/oauth/request_token", body=REQUEST_TOKEN)
    admin_client.get("/connect/x/")
    mocked_http.post(
        "https://api.twitter.com/oauth/access_token", status=401, body="Invalid request token."
    )

    done = admin_client.get(
        "/connect/x/callback/",
        {"oauth_token": "NPcudxy0yU5T3tBzho7iCotZ3cnetKwcTIRlX0iwRl0", "oauth_verifier": "bad"},
        follow=True,
    )

    [message] = said(done)
    assert message.startswith("X refused the login:")
    assert not PlatformAccount.objects.exists()


@override_settings(**X)
def test_x_connect_for_a_token_parley_did_not_ask_for_is_refused(admin_client, mocked_http):
    mocked_http.post("https://api.twitter.com/oauth/request_token", body=REQUEST_TOKEN)
    admin_client.get("/connect/x/")

    done = admin_client.get(
        "/connect/x/callback/", {"oauth_token": "other", "oauth_verifier": "v"}, follow=True
    )

    assert said(done) == ["The X login does not match the one Parley started; start again."]


@override_settings(**X)
def test_x_connect_the_user_declined(admin_client, mocked_http):
    mocked_http.post("https://api.twitter.com/oauth/request_token", body=REQUEST_TOKEN)
    admin_client.get("/connect/x/")

    done = admin_client.get("/connect/x/callback/", {"denied": "NPcud"}, follow=True)

    assert said(done) == ["X login cancelled: the account was not authorised."]


@override_settings(**X)
def test_x_connect_again_refreshes_the_tokens_of_the_same_account(admin_client, mocked_http):
    existing = PlatformAccount.objects.create(
        platform=Platform.TWITTER,
        handle="acme_care",
        external_id="7588892",
        credentials={"access_token": "old", "consumer_secret": "x-secret"},
        is_healthy=False,
        last_poll_error="X refused the credentials: 401 Unauthorized",
    )
    mocked_http.post("https://api.twitter.com/oauth/request_token", body=REQUEST_TOKEN)
    admin_client.get("/connect/x/")
    mocked_http.post("https://api.twitter.com/oauth/access_token", body=ACCESS_TOKEN)
    mocked_http.get(
        "https://api.twitter.com/2/users/me",
        json={"data": {"id": "7588892", "name": "Acme Care", "username": "acme_care"}},
    )

    admin_client.get(
        "/connect/x/callback/",
        {"oauth_token": "NPcudxy0yU5T3tBzho7iCotZ3cnetKwcTIRlX0iwRl0", "oauth_verifier": "v"},
    )

    existing.refresh_from_db()
    assert PlatformAccount.objects.count() == 1
    assert (
        existing.credentials["access_token"] == "7588892-kagSNqWge8gB1WwE3plnFsJHAZVfxWD7Vb57p0b4"
    )
    assert (existing.is_healthy, existing.last_poll_error) == (True, "")
