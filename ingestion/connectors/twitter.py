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
    SHAPE_ERRORS,
    Attachment,
    ConnectionCheck,
    ConnectorError,
    FetchResult,
    InboundAuthor,
    InboundItem,
    ItemEvent,
    ParsedDelivery,
    PermanentError,
    RateLimited,
    ReplyRejected,
    TransientError,
    WebhookItem,
    unescape_x_text,
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
    # A long post's full text: `text` holds only its first 280 characters.
    "note_tweet",
    "attachments",
    "public_metrics",
]
USER_FIELDS = ["username", "name", "public_metrics", "verified"]
# The quoted or retweeted tweet and the photos come back in `includes`.
EXPANSIONS = ["author_id", "referenced_tweets.id", "attachments.media_keys"]
# OAuth 1.0a user context: what replies and DMs are sent with.
USER_AUTH_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
MEDIA_FIELDS = ["type", "url", "preview_image_url", "alt_text", "variants"]


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
        self.can_read = bool(credentials.get("bearer_token"))
        self.can_write = all(credentials.get(key) for key in USER_AUTH_KEYS)
        self._present = {key for key in USER_AUTH_KEYS if credentials.get(key)}
        self.recorder = RateLimitRecorder()
        self.client = make_client(credentials, self.recorder)
        self.problems: list[str] = []

    # --- inbound ---------------------------------------------------------------------------

    def _require_read(self) -> None:
        if not self.can_read:
            raise PermanentError(
                f"@{self.handle} has no X bearer token: reading mentions and searches needs "
                "one (the app's, from the X developer portal). Enter it on the account."
            )

    def _require_write(self) -> None:
        # Checked before tweepy is called: with a key missing, oauthlib raises a TypeError
        # ("Consumer key must be string or bytes") instead of any answer from X.
        if not self.can_write:
            missing = ", ".join(key for key in USER_AUTH_KEYS if key not in self._present)
            raise PermanentError(
                f"@{self.handle} cannot publish on X: its OAuth 1.0a credentials are missing "
                f"({missing}). Connect the account with X, or enter them on the account."
            )

    def check_connection(self) -> list[ConnectionCheck]:
        """Cheap authenticated calls, one per capability, said in words."""
        checks = []
        try:
            self._require_read()
            with _translated_errors():
                self.client.get_user(id=self.account_id, user_auth=False)
            checks.append(ConnectionCheck("read", True, "Mentions and searches can be read."))
        except ConnectorError as error:
            checks.append(ConnectionCheck("read", False, str(error)))
        try:
            self._require_write()
            with _translated_errors():
                me = self.client.get_me(user_auth=True)
            if str(me.data.id) != str(self.account_id):
                raise ConnectorError(
                    f"The access token is @{me.data.username}'s, not this account's "
                    f"(id {self.account_id}): replies would come from the wrong account."
                )
            checks.append(ConnectionCheck("reply", True, f"Replies go out as @{me.data.username}."))
        except ConnectorError as error:
            checks.append(ConnectionCheck("reply", False, str(error)))
        if self.read_dms:
            try:
                with _translated_errors():
                    self.client.get_direct_message_events(max_results=1, user_auth=True)
                checks.append(ConnectionCheck("DMs", True, "Direct messages can be read."))
            except ConnectorError as error:
                checks.append(ConnectionCheck("DMs", False, str(error)))
        else:
            checks.append(ConnectionCheck("DMs", False, "Reading direct messages is not enabled."))
        checks.append(
            ConnectionCheck(
                "webhooks",
                False,
                "Not checked: Account Activity webhooks need X's Enterprise access; polling "
                "does not.",
            )
        )
        return checks

    def fetch_since(self, cursor: dict[str, Any]) -> FetchResult:
        self._require_read()
        items: dict[str, InboundItem] = {}
        next_cursor = dict(cursor)
        self.problems = []
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
            problems=list(self.problems),
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
                media_fields=MEDIA_FIELDS,
                expansions=EXPANSIONS,
                **page,
                **params,
            )
            meta = response.meta or {}
            newest = newest or meta.get("newest_id")
            oldest = meta.get("oldest_id") or oldest
            includes = _includes(response.includes)
            for tweet in response.data or []:
                try:
                    item = tweet_item(tweet.data, **includes)
                except SHAPE_ERRORS as error:
                    # One bad tweet must not stop the stream: it is skipped and said.
                    self.problems.append(f"tweet {tweet.data.get('id', '?')}: {error}")
                    continue
                found[item.external_id] = item
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
            dm_event_fields=[
                "id",
                "text",
                "created_at",
                "sender_id",
                "dm_conversation_id",
                "attachments",
            ],
            expansions=["sender_id", "attachments.media_keys"],
            user_fields=USER_FIELDS,
            media_fields=MEDIA_FIELDS,
            max_results=PAGE_SIZE,
            user_auth=True,
        )
        includes = _includes(response.includes)
        found: dict[str, InboundItem] = {}
        newest = since_id
        for event in response.data or []:
            data = event.data
            try:
                event_id = str(data["id"])
                if since_id is not None and int(event_id) <= int(since_id):
                    continue
                if data.get("sender_id") == self.account_id:
                    newest = _larger(newest, event_id)
                    continue  # the brand's own messages
                if not data.get("sender_id"):
                    raise ValueError("no sender_id")
                sender = str(data["sender_id"])
                found[event_id] = InboundItem(
                    external_id=event_id,
                    author=_author(sender, includes["users"].get(sender)),
                    text=unescape_x_text(data.get("text", "")),
                    created_at=_parse_v2_time(data.get("created_at")),
                    raw=data,
                    kind="message",
                    attachments=_v2_attachments(data, includes["media"]),
                )
            except SHAPE_ERRORS as error:
                self.problems.append(f"DM event {data.get('id', '?')}: {error}")
            # A skipped event is passed too: the cursor must not stop in front of it.
            if str(data.get("id", "")).isdigit():
                newest = _larger(newest, str(data["id"]))
        return found, newest

    # --- outbound --------------------------------------------------------------------------

    def send_reply(self, *, text: str, in_reply_to: str, idempotency_key: str) -> str:
        check_tweet_length(text)
        self._require_write()
        with _translated_errors(publishing=True):
            response = self.client.create_tweet(
                text=text, in_reply_to_tweet_id=in_reply_to or None, user_auth=True
            )
        return str(response.data["id"])

    def send_private_message(self, *, recipient_id: str, text: str, idempotency_key: str) -> str:
        self._require_write()
        with _translated_errors(publishing=True):
            response = self.client.create_direct_message(
                participant_id=recipient_id, text=text, user_auth=True
            )
        return str(response.data["dm_event_id"])

    def find_published_reply(self, *, text: str, in_reply_to: str, since: datetime) -> str | None:
        self._require_write()
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

    # --- social actions ----------------------------------------------------------------------

    def like_post(self, *, post_id: str, liked: bool) -> None:
        """POST /2/users/:id/likes {tweet_id} to like; DELETE /2/users/:id/likes/:tweet_id to
        unlike (https://docs.x.com/x-api/posts/likes/introduction)."""
        self._require_write()
        with _translated_errors():
            if liked:
                response = self.client.request(
                    "POST",
                    f"/2/users/{self.account_id}/likes",
                    json={"tweet_id": post_id},
                    user_auth=True,
                )
            else:
                response = self.client.request(
                    "DELETE", f"/2/users/{self.account_id}/likes/{post_id}", user_auth=True
                )
        _expect(response, "liked", liked, "X did not record the like" if liked else "")

    def delete_post(self, *, post_id: str) -> None:
        """DELETE /2/tweets/:id, the brand's own tweet."""
        self._require_write()
        with _translated_errors():
            response = self.client.delete_tweet(post_id, user_auth=True)
        if not (response.data or {}).get("deleted"):
            raise ConnectorError("X did not delete the post.")

    def block_author(self, *, author_id: str) -> None:
        """POST /2/users/:id/blocking {target_user_id}; X offers it on its Enterprise plan
        only and answers others with a 403 that says so."""
        self._require_write()
        with _translated_errors():
            response = self.client.request(
                "POST",
                f"/2/users/{self.account_id}/blocking",
                json={"target_user_id": author_id},
                user_auth=True,
            )
        _expect(response, "blocking", True, "X did not block the user")


def _expect(response: requests.Response, key: str, value: bool, refusal: str) -> None:
    """X answers a like, unlike or block with `{"data": {key: state}}`: check the state."""
    try:
        state = response.json()["data"][key]
    except (ValueError, KeyError, TypeError) as error:
        raise ConnectorError(f"X answered in an unexpected shape: {error!r}") from error
    if state is not value and refusal:
        raise ConnectorError(f"{refusal}.")


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


def parse_account_activity(body: dict[str, Any]) -> ParsedDelivery:
    """What an Account Activity delivery carries: tweets that mention or answer the account,
    DMs to it, deletions, retweets and likes (as engagement), and access revocations.
    Shapes are the v1.1 objects the API pushes; each event is read on its own."""
    if not isinstance(body, dict):
        raise ValueError("not an Account Activity delivery: not a JSON object")
    parsed = ParsedDelivery()
    revoke = (body.get("user_event") or {}).get("revoke") if "user_event" in body else None
    if revoke is not None:
        with parsed.event("user_event.revoke"):
            user_id = str(revoke["source"]["user_id"])
            parsed.revoked.append(
                (
                    user_id,
                    f"The X user {user_id} revoked Parley's access at {revoke.get('date_time')}"
                    " (user_event revoke); connect the account again to resume.",
                )
            )
        return parsed
    if "for_user_id" not in body:
        raise ValueError("not an Account Activity delivery: no for_user_id")
    account_id = str(body["for_user_id"])
    for index, tweet in enumerate(body.get("tweet_create_events", [])):
        with parsed.event(f"tweet_create_events[{index}]"):
            item = v1_tweet_item(tweet)
            if item.author.external_id != account_id:  # the brand's own tweets come back too
                parsed.items.append(WebhookItem(account_id, item))
    for index, favorite in enumerate(body.get("favorite_events", [])):
        with parsed.event(f"favorite_events[{index}]"):
            liker = favorite["user"]
            if str(liker["id_str"]) == account_id:
                continue
            status = favorite["favorited_status"]
            parsed.items.append(
                WebhookItem(
                    account_id,
                    engagement_item(
                        external_id=f"like:{favorite['id']}",
                        author=_v1_author(liker),
                        created_at=datetime.fromtimestamp(
                            int(favorite["timestamp_ms"]) / 1000, UTC
                        ),
                        target=str(status["id_str"]),
                        kind="like",
                        count=status.get("favorite_count"),
                    ),
                )
            )
    users = body.get("users", {})
    for index, event in enumerate(body.get("direct_message_events", [])):
        with parsed.event(f"direct_message_events[{index}]"):
            if event.get("type") != "message_create":
                continue
            message = event["message_create"]
            sender_id = str(message["sender_id"])
            if sender_id == account_id:
                continue
            user = users.get(sender_id) or {"id_str": sender_id, "screen_name": sender_id}
            data = message.get("message_data") or {}
            media = (data.get("attachment") or {}).get("media")
            parsed.items.append(
                WebhookItem(
                    account_id,
                    InboundItem(
                        external_id=str(event["id"]),
                        author=_v1_author({"id_str": sender_id, **user}),
                        text=unescape_x_text(data.get("text", "")),
                        created_at=datetime.fromtimestamp(
                            int(event["created_timestamp"]) / 1000, UTC
                        ),
                        raw=event,
                        kind="message",
                        attachments=(_v1_media(media),) if media else (),
                    ),
                )
            )
    for index, deletion in enumerate(body.get("tweet_delete_events", [])):
        with parsed.event(f"tweet_delete_events[{index}]"):
            status = deletion["status"]
            parsed.items.append(
                WebhookItem(
                    account_id,
                    InboundItem(
                        external_id=str(status["id"]),
                        author=InboundAuthor(external_id=str(status["user_id"]), handle=""),
                        text="",
                        created_at=datetime.fromtimestamp(
                            int(deletion["timestamp_ms"]) / 1000, UTC
                        ),
                        raw=deletion,
                        event=ItemEvent.DELETED,
                    ),
                )
            )
    return parsed


def is_account_activity_notice(body: dict[str, Any]) -> bool:
    """A delivery about the subscription, not the account's activity: acknowledged, logged."""
    return "replay_job_status" in body


# --- helpers ---------------------------------------------------------------------------------


def v1_tweet_item(tweet: dict[str, Any]) -> InboundItem:
    """A v1.1 tweet object as Account Activity pushes it; a retweet is an engagement."""
    author = _v1_author(tweet["user"])
    created_at = parsedate_to_datetime(tweet["created_at"])
    retweeted = tweet.get("retweeted_status")
    if retweeted:
        return engagement_item(
            external_id=str(tweet["id_str"]),
            author=author,
            created_at=created_at,
            target=str(retweeted["id_str"]),
            kind="retweet",
            count=retweeted.get("retweet_count"),
        )
    extended = tweet.get("extended_tweet") or {}
    text = extended.get("full_text") or tweet.get("text", "")
    entities = extended.get("extended_entities") or tweet.get("extended_entities") or {}
    raw = dict(tweet)
    quoted = tweet.get("quoted_status") if tweet.get("is_quote_status") else None
    if quoted:
        # A quote tweet is a post; the tweet it quotes is shown beside it as context.
        raw["parley_quoted"] = {
            "id": str(quoted.get("id_str", tweet.get("quoted_status_id_str", ""))),
            "handle": (quoted.get("user") or {}).get("screen_name", ""),
            "text": unescape_x_text(
                (quoted.get("extended_tweet") or {}).get("full_text") or quoted.get("text", "")
            ),
        }
    return InboundItem(
        external_id=str(tweet["id_str"]),
        author=author,
        text=unescape_x_text(text),
        created_at=created_at,
        in_reply_to=tweet.get("in_reply_to_status_id_str") or "",
        raw=raw,
        attachments=tuple(_v1_media(medium) for medium in entities.get("media", [])),
    )


def tweet_item(
    data: dict[str, Any],
    user: tweepy.User | None = None,
    *,
    users: dict[str, tweepy.User] | None = None,
    media: dict[str, dict[str, Any]] | None = None,
    tweets: dict[str, dict[str, Any]] | None = None,
) -> InboundItem:
    """An API v2 tweet object, with its author, photos and quoted tweet from `includes`.

    Raises ValueError for a tweet without `author_id` (asked for without the expansion):
    stored under a made-up author it would merge strangers.
    """
    tweet_id = str(data["id"])
    author_id = data.get("author_id")
    if not author_id:
        raise ValueError(f"tweet {tweet_id} has no author_id (request expansions=author_id)")
    author = _author(str(author_id), user or (users or {}).get(str(author_id)))
    references = {
        ref.get("type"): str(ref.get("id")) for ref in data.get("referenced_tweets") or []
    }
    created_at = _parse_v2_time(data.get("created_at"))
    if "retweeted" in references:
        original = (tweets or {}).get(references["retweeted"]) or {}
        return engagement_item(
            external_id=tweet_id,
            author=author,
            created_at=created_at,
            target=references["retweeted"],
            kind="retweet",
            count=(original.get("public_metrics") or {}).get("retweet_count"),
        )
    raw = dict(data)
    if "quoted" in references:
        quoted = (tweets or {}).get(references["quoted"]) or {}
        raw["parley_quoted"] = {
            "id": references["quoted"],
            "handle": "",
            "text": unescape_x_text(
                (quoted.get("note_tweet") or {}).get("text") or quoted.get("text", "")
            ),
        }
    text = (data.get("note_tweet") or {}).get("text") or data.get("text", "")
    return InboundItem(
        external_id=tweet_id,
        author=author,
        text=unescape_x_text(text),
        created_at=created_at,
        in_reply_to=references.get("replied_to", ""),
        raw=raw,
        attachments=_v2_attachments(data, media or {}),
    )


def engagement_item(
    *,
    external_id: str,
    author: InboundAuthor,
    created_at: datetime,
    target: str,
    kind: str,
    count: Any = None,
) -> InboundItem:
    """A retweet or like of `target`: engagement counted on that post, not a post itself."""
    raw: dict[str, Any] = {"parley_engagement": kind}
    if isinstance(count, int):
        raw["count"] = count
    return InboundItem(
        external_id=external_id,
        author=author,
        text="",
        created_at=created_at,
        in_reply_to=target,
        raw=raw,
        event=ItemEvent.ENGAGEMENT,
    )


def _includes(includes: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """`includes` of a v2 response by id: users (tweepy objects), media and tweets (dicts)."""
    includes = includes or {}
    return {
        "users": {str(user.id): user for user in includes.get("users", [])},
        "media": {str(medium.media_key): dict(medium.data) for medium in includes.get("media", [])},
        "tweets": {str(tweet.id): dict(tweet.data) for tweet in includes.get("tweets", [])},
    }


def _v2_attachments(
    data: dict[str, Any], media: dict[str, dict[str, Any]]
) -> tuple[Attachment, ...]:
    keys = (data.get("attachments") or {}).get("media_keys") or []
    found = []
    for key in keys:
        medium = media.get(str(key))
        if medium is None:
            continue
        variants = [v for v in medium.get("variants") or [] if v.get("content_type") == "video/mp4"]
        best = max(variants, key=lambda v: v.get("bit_rate", 0), default={})
        found.append(
            Attachment(
                type=medium.get("type", "photo"),
                url=medium.get("url") or best.get("url", ""),
                preview_url=medium.get("preview_image_url") or medium.get("url", ""),
                alt_text=medium.get("alt_text") or "",
            )
        )
    return tuple(found)


def _v1_media(medium: dict[str, Any]) -> Attachment:
    """A v1.1 media entity: a photo's URL, or a video's best MP4 with its still as preview."""
    still = medium.get("media_url_https") or medium.get("media_url", "")
    variants = [
        v
        for v in (medium.get("video_info") or {}).get("variants", [])
        if v.get("content_type") == "video/mp4"
    ]
    best = max(variants, key=lambda v: v.get("bitrate", 0), default={})
    return Attachment(
        type=medium.get("type", "photo"),
        url=best.get("url") or still,
        preview_url=still,
        alt_text=medium.get("ext_alt_text") or "",
    )


def _v1_author(user: dict[str, Any]) -> InboundAuthor:
    return InboundAuthor(
        external_id=str(user["id_str"]),
        handle=user.get("screen_name") or str(user["id_str"]),
        display_name=user.get("name", ""),
        follower_count=int(user.get("followers_count") or 0),
        is_verified=bool(user.get("verified", False)),
    )


def _larger(current: str | None, candidate: str) -> str:
    return candidate if current is None or int(candidate) > int(current) else current


def _author(author_id: str, user: tweepy.User | None) -> InboundAuthor:
    if user is None or not getattr(user, "username", None):
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
