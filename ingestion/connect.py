"""Connecting a brand's accounts from Parley, as the platforms document it.

Meta (Facebook Login for Business, manual flow): the login dialog's `code` is exchanged for
a user token, that for a long-lived one, and the user's Pages (with each Page's own token and
its linked Instagram professional account) are listed; the admin picks which to connect, and
Parley stores the Page token and subscribes the app to the Page's webhooks. X (OAuth 1.0a,
3-legged): a request token, the user's authorisation, then the access token pair.

The manual credential form in the admin stays the fallback.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

import tweepy
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import transaction

from core.fields import _fernet
from core.models import Platform

from .connectors import ConnectorError
from .connectors.facebook import _translated_errors as graph_errors
from .connectors.facebook import make_graph_api
from .connectors.http import RateLimitRecorder
from .models import PlatformAccount

logger = logging.getLogger(__name__)

# Permissions the connected Page and Instagram account are used with: read posts, comments
# and messages, answer them, subscribe to their webhooks.
META_SCOPES = (
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_metadata",
    "pages_manage_engagement",
    "pages_messaging",
    "instagram_basic",
    "instagram_manage_comments",
    "instagram_manage_messages",
    "business_management",
)
# The Page webhook fields Parley reads (Meta Webhooks reference, Page object).
PAGE_WEBHOOK_FIELDS = ("feed", "messages", "messaging_postbacks", "message_echoes")


class ConnectRefused(Exception):
    """The platform refused a step of the connect flow; the message says what and why."""


@dataclass(frozen=True)
class PageChoice:
    """A Page the user manages, with its long-lived Page token and linked IG account."""

    page_id: str
    name: str
    access_token: str
    instagram_id: str = ""
    instagram_username: str = ""


def meta_login_url(*, redirect_uri: str, state: str) -> str:
    """The Facebook login dialog: https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow"""
    api = make_graph_api("")
    if settings.META_LOGIN_CONFIG_ID:
        # Facebook Login for Business: a configuration names the permissions.
        return api.get_auth_url(
            settings.META_APP_ID,
            redirect_uri,
            state=state,
            config_id=settings.META_LOGIN_CONFIG_ID,
            response_type="code",
            override_default_response_type="true",
        )
    return api.get_auth_url(settings.META_APP_ID, redirect_uri, list(META_SCOPES), state=state)


def meta_pages(*, code: str, redirect_uri: str) -> list[PageChoice]:
    """Exchange the dialog's `code` and list the user's Pages with long-lived Page tokens.

    1. GET /oauth/access_token with the code: a short-lived user token (manual flow).
    2. GET /oauth/access_token, grant_type=fb_exchange_token: a long-lived user token
       (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived).
    3. GET /me/accounts: the Pages, each with a Page token that, asked with a long-lived user
       token, does not expire; `instagram_business_account` is the linked IG account
       (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/getting-started).
    """
    recorder = RateLimitRecorder()
    try:
        with graph_errors("Facebook", recorder):
            short = make_graph_api("").get_access_token_from_code(
                code, redirect_uri, settings.META_APP_ID, settings.META_APP_SECRET
            )
            user = make_graph_api(short["access_token"])
            long_lived = user.extend_access_token(settings.META_APP_ID, settings.META_APP_SECRET)
            user = make_graph_api(long_lived["access_token"])
            pages = user.get_connections(
                "me",
                "accounts",
                fields="id,name,access_token,instagram_business_account{id,username}",
                limit=100,
            )
    except ConnectorError as error:
        raise ConnectRefused(f"Facebook refused the login: {error}") from error
    choices = []
    for page in pages.get("data", []):
        instagram = page.get("instagram_business_account") or {}
        choices.append(
            PageChoice(
                page_id=str(page["id"]),
                name=page.get("name", ""),
                access_token=page["access_token"],
                instagram_id=str(instagram.get("id", "")),
                instagram_username=instagram.get("username", ""),
            )
        )
    if not choices:
        raise ConnectRefused(
            "Facebook returned no Page: log in as someone who manages the brand's Page, and "
            "grant Parley access to it."
        )
    return choices


def connect_meta_page(*, choice: PageChoice, with_instagram: bool) -> list[PlatformAccount]:
    """Store the Page (and its Instagram account), then subscribe the app to the Page's
    webhooks: POST /{page-id}/subscribed_apps with `subscribed_fields`
    (https://developers.facebook.com/docs/graph-api/reference/page/subscribed_apps/).
    Instagram webhooks come through the same subscription of the linked Page."""
    recorder = RateLimitRecorder()
    try:
        with graph_errors("Facebook", recorder, publishing=False):
            make_graph_api(choice.access_token).put_object(
                choice.page_id, "subscribed_apps", subscribed_fields=",".join(PAGE_WEBHOOK_FIELDS)
            )
    except ConnectorError as error:
        raise ConnectRefused(
            f"Facebook refused to subscribe Parley to {choice.name}'s webhooks: {error}"
        ) from error
    connected = []
    with transaction.atomic():
        connected.append(
            _upsert_account(
                platform=Platform.FACEBOOK,
                external_id=choice.page_id,
                handle=choice.name,
                credentials={"page_access_token": choice.access_token},
            )
        )
        if with_instagram and choice.instagram_id:
            connected.append(
                _upsert_account(
                    platform=Platform.INSTAGRAM,
                    external_id=choice.instagram_id,
                    handle=choice.instagram_username or choice.instagram_id,
                    credentials={
                        "page_access_token": choice.access_token,
                        "page_id": choice.page_id,
                    },
                )
            )
    return connected


def x_authorisation(*, callback: str) -> tuple[str, dict[str, str]]:
    """Start X's 3-legged OAuth 1.0a flow: POST oauth/request_token, then the user goes to
    the authorisation URL returned with the request token to keep
    (https://docs.x.com/resources/fundamentals/authentication/oauth-1-0a/obtaining-user-access-tokens)."""
    handler = tweepy.OAuth1UserHandler(
        settings.X_CONSUMER_KEY, settings.X_CONSUMER_SECRET, callback=callback
    )
    try:
        url = handler.get_authorization_url()
    except tweepy.TweepyException as error:
        raise ConnectRefused(f"X refused to start the login: {error}") from error
    return url, dict(handler.request_token)


def connect_x_account(
    *, request_token: dict[str, str], oauth_token: str, verifier: str
) -> PlatformAccount:
    """Finish X's flow: POST oauth/access_token with the verifier gives the user's access
    token pair; GET /2/users/me says whose it is. The account is stored with the app's keys."""
    if not request_token or request_token.get("oauth_token") != oauth_token:
        raise ConnectRefused("The X login does not match the one Parley started; start again.")
    handler = tweepy.OAuth1UserHandler(settings.X_CONSUMER_KEY, settings.X_CONSUMER_SECRET)
    handler.request_token = request_token
    try:
        access_token, access_token_secret = handler.get_access_token(verifier)
        me = tweepy.Client(
            consumer_key=settings.X_CONSUMER_KEY,
            consumer_secret=settings.X_CONSUMER_SECRET,
            access_token=access_token,
            access_token_secret=access_token_secret,
        ).get_me(user_auth=True)
    except tweepy.TweepyException as error:
        raise ConnectRefused(f"X refused the login: {error}") from error
    credentials: dict[str, Any] = {
        "consumer_key": settings.X_CONSUMER_KEY,
        "consumer_secret": settings.X_CONSUMER_SECRET,
        "access_token": access_token,
        "access_token_secret": access_token_secret,
    }
    if settings.X_BEARER_TOKEN:
        credentials["bearer_token"] = settings.X_BEARER_TOKEN
    return _upsert_account(
        platform=Platform.TWITTER,
        external_id=str(me.data.id),
        handle=me.data.username,
        credentials=credentials,
    )


def _upsert_account(
    *, platform: str, external_id: str, handle: str, credentials: dict[str, Any]
) -> PlatformAccount:
    """The account with this platform id, created or given the new credentials (kept ones
    it already had, like an app secret, stay); healthy again."""
    account = PlatformAccount.objects.filter(platform=platform, external_id=external_id).first()
    if account is None:
        return PlatformAccount.objects.create(
            platform=platform,
            external_id=external_id,
            handle=_free_handle(platform, handle.lstrip("@")),
            credentials=credentials,
        )
    account.credentials = {**(account.credentials or {}), **credentials}
    account.is_healthy, account.last_poll_error, account.consecutive_failures = True, "", 0
    account.save()
    return account


def _free_handle(platform: str, handle: str) -> str:
    """The handle, made unique on its platform (two Pages may share a name)."""
    handle = handle[:100] or "account"
    candidate, number = handle, 2
    while PlatformAccount.objects.filter(platform=platform, handle=candidate).exists():
        candidate, number = f"{handle[:95]}-{number}", number + 1
    return candidate


def page_choices_to_session(choices: list[PageChoice]) -> str:
    """The Pages offered, encrypted like stored credentials: the session row holds their
    tokens until the admin has picked."""
    payload = json.dumps([asdict(choice) for choice in choices]).encode()
    return _fernet().encrypt(payload).decode()


def page_choices_from_session(stored: str | None) -> list[PageChoice]:
    if not stored:
        return []
    try:
        choices = json.loads(_fernet().decrypt(stored.encode()))
    except (InvalidToken, ValueError):
        return []
    return [PageChoice(**choice) for choice in choices]
