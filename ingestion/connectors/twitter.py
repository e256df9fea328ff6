"""X / Twitter through tweepy's API v2 `Client`: mentions, listening searches and DMs in;
reply tweets and DMs out; Account Activity webhook deliveries parsed.

The cursor holds the state of each stream (mentions, each listening query, DMs), so a stream
resumes exactly where its last committed poll stopped.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import tweepy

from core.models import Platform, reply_length

from .base import (
    ConnectorError,
    FetchResult,
    InboundAuthor,
    InboundItem,
    ItemEvent,
    PermanentError,
    RateLimited,
    ReplyRejected,
    TransientError,
    WebhookItem,
)
from .http import RateLimitRecorder, raise_transport_error, session_with_timeout

MAX_TWEET_CHARACTERS = 280
# Pages followed per stream and poll; the rest waits for the next poll (the cursor says where).
MAX_PAGES = 5
PAGE_SIZE = 100
# When X sends a 429 without a reset header, wait a full rate-limit window.
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)

TWEET_FIELDS = [
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
]
USER_FIELDS = ["username", "name", "public_metrics", "verified"]
EXPANSIONS = ["author_id"]


def make_client(credentials: dict[str, Any], recorder: RateLimitRecorder) -> tweepy.Client:
    """A tweepy v2 client: the bearer token reads, the user's OAuth 1.0a tokens write."""
    client = tweepy.Client(
        bearer_token=credentials.get("bearer_token"),
        consumer_key=credentials.get("consumer_key"),
        consumer_secret=credentials.get("consumer_secret"),
        access_token=credentials.get("access_token"),
        access_token_secret=credentials.get("access_token_secret"),
        wait_on_rate_limit=False,  # a worker never sleeps on a limit; the account is skipped
    )
    client.session = session_with_timeout(recorder)
    return client


class TwitterConnector:
    def __init__(
        self,
        *,
        account_id: str,
        handle: str,
        credentials: dict[str, Any],
        queries: list[str] | None = None,
    ) -> None:
        self.account_id = account_id
        self.handle = handle
        self.queries = queries or []
        self.read_dms = bool(credentials.get("access_token")) and bool(
            credentials.get("read_direct_messages", False)
        )
        self.recorder = RateLimitRecorder()
        self.client = make_client(credentials, self.recorder)

    # --- inbound ---------------------------------------------------------------------------

    def fetch_since(self, cursor: dict[str, Any]) -> FetchResult:
        items: dict[str, InboundItem] = {}
        next_cursor = dict(cursor)
        with _translated_errors():
            found, next_cursor["mentions"] = self._stream(
                self.client.get_users_mentions,
                cursor.get("mentions", {}),
                token_param="pagination_token",
                id=self.account_id,
            )
            items.update(found)
            searches = cursor.get("searches", {})
            next_cursor["searches"] = {}
            for query in self.queries:
                found, next_cursor["searches"][query] = self._stream(
                    self.client.search_recent_tweets,
                    searches.get(query, {}),
                    token_param="next_token",
                    query=query,
                )
                items.update(found)
            if self.read_dms:
                found, newest = self._direct_messages(cursor.get("dm_since_id"))
                items.update(found)
                next_cursor["dm_since_id"] = newest or cursor.get("dm_since_id")
        # Snowflake ids grow with time: sorting on them is posting order.
        ordered = sorted(items.values(), key=lambda item: (item.created_at, int(item.external_id)))
        return FetchResult(
            items=ordered,
            cursor={key: value for key, value in next_cursor.items() if value},
            rate_limit=self.recorder.state,
        )

    def _stream(
        self, method, state: dict[str, str], *, token_param: str, **params
    ) -> tuple[dict[str, InboundItem], dict[str, str]]:
        """Read one stream (mentions, a search) since its stored state; return the new state.

        X pages newest first. When there are more pages than one poll reads, the state keeps
        the old `since_id` and reads on from `until_id` (the oldest tweet stored) next time,
        remembering the newest id for when the gap is closed: no tweet is skipped.
        """
        since, until, pending_newest = (
            state.get("since_id"),
            state.get("until_id"),
            state.get("newest"),
        )
        found: dict[str, InboundItem] = {}
        newest = oldest = token = None
        for _ in range(MAX_PAGES):
            # Search pages with `next_token`, the timelines with `pagination_token`.
            page = {token_param: token} if token else {}
            if until:
                page["until_id"] = until
            response = method(
                since_id=since,
                max_results=PAGE_SIZE,
                tweet_fields=TWEET_FIELDS,
                user_fields=USER_FIELDS,
                expansions=EXPANSIONS,
                **page,
                **params,
            )
            meta = response.meta or {}
            newest = newest or meta.get("newest_id")
            oldest = meta.get("oldest_id") or oldest
            users = {user.id: user for user in (response.includes or {}).get("users", [])}
            for tweet in response.data or []:
                found[str(tweet.id)] = tweet_item(tweet.data, users.get(tweet.author_id))
            token = meta.get("next_token")
            # Without a since_id the first page is enough: a new account starts from now,
            # not from its whole history.
            if not token or since is None:
                latest = pending_newest or newest or since
                return found, {"since_id": latest} if latest else {}
        return found, {
            key: value
            for key, value in {
                "since_id": since,
                "until_id": oldest or until,
                "newest": pending_newest or newest,
            }.items()
            if value
        }

    def _direct_messages(self, since_id: str | None) -> tuple[dict[str, InboundItem], str | None]:
        response = self.client.get_direct_message_events(
            event_types="MessageCreate",
            dm_event_fields=["id", "text", "created_at", "sender_id", "dm_conversation_id"],
            expansions=["sender_id"],
            user_fields=USER_FIELDS,
            max_results=PAGE_SIZE,
            user_auth=True,
        )
        users = {user.id: user for user in (response.includes or {}).get("users", [])}
        found: dict[str, InboundItem] = {}
        newest = since_id
        for event in response.data or []:
            data = event.data
            if data.get("sender_id") == self.account_id:
                continue  # the brand's own messages
            if since_id is not None and int(data["id"]) <= int(since_id):
                continue
            author = _author(data["sender_id"], users.get(int(data["sender_id"])))
            found[data["id"]] = InboundItem(
                external_id=data["id"],
                author=author,
                text=data.get("text", ""),
                created_at=_parse_v2_time(data.get("created_at")),
                raw=data,
                kind="message",
            )
            if newest is None or int(data["id"]) > int(newest):
                newest = data["id"]
        return found, newest

    # --- outbound --------------------------------------------------------------------------

    def send_reply(self, *, text: str, in_reply_to: str, idempotency_key: str) -> str:
        check_tweet_length(text)
        with _translated_errors(publishing=True):
            response = self.client.create_tweet(
                text=text, in_reply_to_tweet_id=in_reply_to or None, user_auth=True
            )
        return str(response.data["id"])

    def send_private_message(self, *, recipient_id: str, text: str, idempotency_key: str) -> str:
        with _translated_errors(publishing=True):
            response = self.client.create_direct_message(
                participant_id=recipient_id, text=text, user_auth=True
            )
        return str(response.data["dm_event_id"])

    def find_published_reply(self, *, text: str, in_reply_to: str, since: datetime) -> str | None:
        with _translated_errors():
            response = self.client.get_users_tweets(
                id=self.account_id,
                start_time=since - timedelta(minutes=1),
                tweet_fields=["referenced_tweets"],
                max_results=PAGE_SIZE,
                user_auth=True,
            )
        wanted = _normalised(text)
        for tweet in response.data or []:
            replied_to = {
                ref["id"]
                for ref in tweet.data.get("referenced_tweets", [])
                if ref.get("type") == "replied_to"
            }
            # X may prefix the mentions of a reply or shorten links; the agent's text stays.
            if in_reply_to in replied_to and wanted in _normalised(tweet.data.get("text", "")):
                return str(tweet.id)
        return None


def check_tweet_length(text: str) -> None:
    """Refuse a tweet X would reject, before any API call: X weighs the text (twitter-text:
    links count 23 characters, CJK characters and most emoji 2)."""
    length = reply_length(Platform.TWITTER, text)
    if length > MAX_TWEET_CHARACTERS:
        raise ReplyRejected(
            f"A reply on X can be at most {MAX_TWEET_CHARACTERS} characters; "
            f"this one has {length}. Shorten it or send it as a DM."
        )


# --- webhooks (Account Activity API) ---------------------------------------------------------


def parse_account_activity(body: dict[str, Any]) -> list[WebhookItem]:
    """Items from an Account Activity delivery: tweets that mention or answer the account,
    DMs to it, and deletions. Shapes are the v1.1 objects the API pushes."""
    if not isinstance(body, dict) or "for_user_id" not in body:
        raise ValueError("not an Account Activity delivery: no for_user_id")
    account_id = str(body["for_user_id"])
    found: list[WebhookItem] = []
    for tweet in body.get("tweet_create_events", []):
        user = tweet["user"]
        if str(user["id_str"]) == account_id:
            continue  # the brand's own tweets come back as events too
        author = InboundAuthor(
            external_id=str(user["id_str"]),
            handle=user["screen_name"],
            display_name=user.get("name", ""),
            follower_count=int(user.get("followers_count", 0)),
            is_verified=bool(user.get("verified", False)),
        )
        text = (tweet.get("extended_tweet") or {}).get("full_text") or tweet.get("text", "")
        found.append(
            WebhookItem(
                account_id,
                InboundItem(
                    external_id=str(tweet["id_str"]),
                    author=author,
                    text=text,
                    created_at=parsedate_to_datetime(tweet["created_at"]),
                    in_reply_to=tweet.get("in_reply_to_status_id_str") or "",
                    raw=tweet,
                ),
            )
        )
    users = body.get("users", {})
    for event in body.get("direct_message_events", []):
        if event.get("type") != "message_create":
            continue
        message = event["message_create"]
        sender_id = str(message["sender_id"])
        if sender_id == account_id:
            continue
        user = users.get(sender_id, {})
        author = InboundAuthor(
            external_id=sender_id,
            handle=user.get("screen_name", sender_id),
            display_name=user.get("name", ""),
            follower_count=int(user.get("followers_count", 0)),
            is_verified=bool(user.get("verified", False)),
        )
        found.append(
            WebhookItem(
                account_id,
                InboundItem(
                    external_id=str(event["id"]),
                    author=author,
                    text=message.get("message_data", {}).get("text", ""),
                    created_at=datetime.fromtimestamp(int(event["created_timestamp"]) / 1000, UTC),
                    raw=event,
                    kind="message",
                ),
            )
        )
    for deletion in body.get("tweet_delete_events", []):
        status = deletion["status"]
        found.append(
            WebhookItem(
                account_id,
                InboundItem(
                    external_id=str(status["id"]),
                    author=InboundAuthor(external_id=str(status["user_id"]), handle=""),
                    text="",
                    created_at=datetime.fromtimestamp(int(deletion["timestamp_ms"]) / 1000, UTC),
                    raw=deletion,
                    event=ItemEvent.DELETED,
                ),
            )
        )
    return found


# --- helpers ---------------------------------------------------------------------------------


def tweet_item(data: dict[str, Any], user: tweepy.User | None) -> InboundItem:
    """An API v2 tweet object, with its author from the `includes.users` expansion."""
    replied_to = next(
        (ref["id"] for ref in data.get("referenced_tweets", []) if ref.get("type") == "replied_to"),
        "",
    )
    return InboundItem(
        external_id=str(data["id"]),
        author=_author(data["author_id"], user),
        text=data.get("text", ""),
        created_at=_parse_v2_time(data.get("created_at")),
        in_reply_to=str(replied_to),
        raw=data,
    )


def _author(author_id: str, user: tweepy.User | None) -> InboundAuthor:
    if user is None:
        return InboundAuthor(external_id=str(author_id), handle=str(author_id))
    metrics = user.data.get("public_metrics") or {}
    return InboundAuthor(
        external_id=str(user.id),
        handle=user.username,
        display_name=user.name or "",
        follower_count=int(metrics.get("followers_count", 0)),
        is_verified=bool(user.data.get("verified", False)),
    )


def _parse_v2_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


class _translated_errors:
    """Turns tweepy's and requests' exceptions into the connector errors services act on."""

    def __init__(self, *, publishing: bool = False) -> None:
        self.publishing = publishing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or isinstance(error, ConnectorError):
            return False
        if isinstance(error, tweepy.TooManyRequests):
            reset_at = (
                datetime.fromtimestamp(error.reset_time, UTC)
                if getattr(error, "reset_time", None)
                else datetime.now(UTC) + DEFAULT_RATE_LIMIT_WAIT
            )
            raise RateLimited(f"X rate limit reached: {_message(error)}", reset_at=reset_at)
        if isinstance(error, tweepy.TwitterServerError):
            raise TransientError(f"X server error: {_message(error)}") from error
        if isinstance(error, tweepy.Unauthorized):
            raise PermanentError(f"X refused the credentials: {_message(error)}") from error
        if isinstance(error, tweepy.HTTPException):
            raise ConnectorError(f"X refused the request: {_message(error)}") from error
        if isinstance(error, requests.RequestException):
            raise_transport_error(
                error,
                platform="X",
                publishing=self.publishing,
                never_sent=(requests.ConnectTimeout, requests.exceptions.SSLError),
            )
        return False


def _message(error: tweepy.HTTPException) -> str:
    status = f"{error.response.status_code} {error.response.reason}"
    details = "; ".join(error.api_messages) if error.api_messages else ""
    return f"{status}: {details}" if details else status
