"""Facebook Pages and Instagram business accounts through facebook-sdk's `GraphAPI`.

Facebook: page feed posts and their comments, visitor posts and Messenger conversations in;
comment replies, private replies and Messenger messages out. Instagram: comments on the
account's media in, comment replies out. Meta's webhooks (`feed`, `messages`, `comments`)
are parsed here too.

facebook-sdk 3.1.0 only accepts Graph API versions up to 3.1, long retired; `make_graph_api`
is the one place a client is built, and it sets the current version after construction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any
from urllib.parse import parse_qs, urlsplit

import facebook
import requests
from django.conf import settings

from .base import (
    ConnectorError,
    FetchResult,
    InboundAuthor,
    InboundItem,
    ItemEvent,
    PermanentError,
    RateLimited,
    TransientError,
    WebhookItem,
)
from .http import (
    DEFAULT_TIMEOUT,
    RateLimitRecorder,
    raise_transport_error,
    session_with_timeout,
)

PAGE_SIZE = 50
# Feed posts read per poll; a page with more new posts than this between two polls needs a
# shorter poll interval (webhooks carry them anyway).
MAX_FEED_POSTS = 1000
# Graph API error codes: throttling (app, user, page, business use case) and bad access.
RATE_LIMIT_CODES = {4, 17, 32, 613, *range(80001, 80010)}
PERMANENT_CODES = {10, 102, 190, 200}
TRANSIENT_CODES = {1, 2}
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)

FB_FEED_FIELDS = (
    "id,message,created_time,from{id,name},"
    "comments.limit(100).filter(stream){id,message,created_time,from{id,name},parent{id}}"
)
FB_CONVERSATION_FIELDS = "id,updated_time,messages.limit(25){id,message,created_time,from}"
IG_MEDIA_FIELDS = "id,caption,timestamp,comments.limit(100){id,text,timestamp,from{id,username}}"


def make_graph_api(
    access_token: str, *, session: requests.Session | None = None
) -> facebook.GraphAPI:
    """A Graph API client that calls `settings.FACEBOOK_GRAPH_API_VERSION`."""
    api = facebook.GraphAPI(access_token=access_token, timeout=DEFAULT_TIMEOUT[1], session=session)
    # Set after construction: the constructor rejects any version above 3.1.
    api.version = settings.FACEBOOK_GRAPH_API_VERSION
    return api


class _GraphConnector:
    platform_name = "Meta"

    def __init__(self, *, account_id: str, handle: str, credentials: dict[str, Any]) -> None:
        self.account_id = account_id
        self.handle = handle
        self.recorder = RateLimitRecorder()
        self.api = make_graph_api(
            credentials.get("page_access_token", ""), session=session_with_timeout(self.recorder)
        )

    def _since(self, cursor: dict[str, Any]) -> int | None:
        return int(cursor["since"]) if cursor.get("since") else None

    def _result(self, items: list[InboundItem], cursor: dict[str, Any]) -> FetchResult:
        ordered = sorted(items, key=lambda item: (item.created_at, item.external_id))
        next_cursor = dict(cursor)
        if ordered:
            # Graph API `since` is inclusive to the second: the next poll re-reads that
            # second and dedupe drops the repeats, so a post made in it is never skipped.
            newest = int(ordered[-1].created_at.timestamp())
            next_cursor["since"] = max(newest, self._since(cursor) or 0)
        return FetchResult(items=ordered, cursor=next_cursor, rate_limit=self.recorder.state)

    def _comment_reply(self, object_id: str, text: str) -> str:
        with _translated_errors(self.platform_name, self.recorder, publishing=True):
            result = self.api.put_object(object_id, "comments", message=text)
        return str(result["id"])

    def _all_pages(self, connection: str, **args: Any) -> Iterator[dict[str, Any]]:
        """Every item of a connection, following `paging.next` (cursor or time based)."""
        while True:
            page = self.api.get_connections(self.account_id, connection, **args)
            yield from page.get("data", [])
            following = (page.get("paging") or {}).get("next")
            if not following:
                return
            args = {k: v[0] for k, v in parse_qs(urlsplit(following).query).items()}
            args.pop("access_token", None)  # the client adds its own

    def send_private_message(self, *, recipient_id: str, text: str, idempotency_key: str) -> str:
        """A Messenger / Instagram Direct message to a customer's page-scoped id."""
        with _translated_errors(self.platform_name, self.recorder, publishing=True):
            result = self.api.request(
                f"{self.api.version}/{self.account_id}/messages",
                post_args={
                    "recipient": json.dumps({"id": recipient_id}),
                    "messaging_type": "RESPONSE",
                    "message": json.dumps({"text": text}),
                },
            )
        return str(result.get("message_id") or result["id"])

    def send_private_reply(self, *, comment_id: str, text: str) -> str:
        """Answer a public comment with a private message (Meta's "private reply")."""
        with _translated_errors(self.platform_name, self.recorder, publishing=True):
            result = self.api.request(
                f"{self.api.version}/{self.account_id}/messages",
                post_args={
                    "recipient": json.dumps({"comment_id": comment_id}),
                    "message": json.dumps({"text": text}),
                },
            )
        return str(result.get("message_id") or result["id"])

    def find_published_reply(self, *, text: str, in_reply_to: str, since: datetime) -> str | None:
        with _translated_errors(self.platform_name, self.recorder):
            result = self.api.get_connections(
                in_reply_to, self._replies_edge, fields=self._reply_fields, limit=PAGE_SIZE
            )
        wanted = " ".join(text.split())
        for reply in result.get("data", []):
            author = (reply.get("from") or {}).get("id")
            body = reply.get("message") or reply.get("text") or ""
            if author == self.account_id and " ".join(body.split()) == wanted:
                return str(reply["id"])
        return None


class FacebookPageConnector(_GraphConnector):
    platform_name = "Facebook"
    _replies_edge = "comments"
    _reply_fields = "id,message,from{id}"

    def fetch_since(self, cursor: dict[str, Any]) -> FetchResult:
        since = self._since(cursor)
        args: dict[str, Any] = {"fields": FB_FEED_FIELDS, "limit": PAGE_SIZE}
        if since:
            args["since"] = since
        items: list[InboundItem] = []
        with _translated_errors(self.platform_name, self.recorder):
            # Every page since the cursor (Graph pages follow `paging.next`), up to a cap.
            feed = islice(self._all_pages("feed", **args), MAX_FEED_POSTS)
            for post in feed:
                if (post.get("from") or {}).get("id") != self.account_id:
                    items.append(fb_item(post, kind="post"))  # a visitor post
                for comment in (post.get("comments") or {}).get("data", []):
                    if (comment.get("from") or {}).get("id") == self.account_id:
                        continue
                    item = fb_item(comment, kind="comment", parent=post["id"])
                    if since is None or item.created_at.timestamp() >= since:
                        items.append(item)
            conversations = self.api.get_connections(
                self.account_id,
                "conversations",
                fields=FB_CONVERSATION_FIELDS,
                platform="messenger",
            )
            for conversation in conversations.get("data", []):
                for message in (conversation.get("messages") or {}).get("data", []):
                    if (message.get("from") or {}).get("id") == self.account_id:
                        continue
                    item = fb_item(message, kind="message")
                    if since is None or item.created_at.timestamp() >= since:
                        items.append(item)
        return self._result(items, cursor)

    def send_reply(self, *, text: str, in_reply_to: str, idempotency_key: str) -> str:
        """A comment under the post or comment answered."""
        return self._comment_reply(in_reply_to, text)


class InstagramConnector(_GraphConnector):
    platform_name = "Instagram"
    _replies_edge = "replies"
    _reply_fields = "id,text,from{id}"

    def fetch_since(self, cursor: dict[str, Any]) -> FetchResult:
        since = self._since(cursor)
        items: list[InboundItem] = []
        with _translated_errors(self.platform_name, self.recorder):
            media = self.api.get_connections(
                self.account_id, "media", fields=IG_MEDIA_FIELDS, limit=PAGE_SIZE
            )
            for medium in media.get("data", []):
                for comment in (medium.get("comments") or {}).get("data", []):
                    author = comment.get("from") or {}
                    if author.get("id") == self.account_id:
                        continue
                    item = ig_comment(comment, media_id=medium["id"])
                    if since is None or item.created_at.timestamp() >= since:
                        items.append(item)
        return self._result(items, cursor)

    def fetch_mention(self, *, media_id: str, comment_id: str = "") -> InboundItem | None:
        """The comment or caption in which someone @mentioned the account."""
        with _translated_errors(self.platform_name, self.recorder):
            if comment_id:
                found = self.api.get_object(
                    self.account_id,
                    fields=f"mentioned_comment.comment_id({comment_id})"
                    "{id,text,timestamp,from{id,username},media{id}}",
                ).get("mentioned_comment")
                if not found:
                    return None
                media = (found.get("media") or {}).get("id", media_id)
                return ig_comment(found, media_id=media)
            found = self.api.get_object(
                self.account_id,
                fields=f"mentioned_media.media_id({media_id}){{id,caption,timestamp,username}}",
            ).get("mentioned_media")
        if not found:
            return None
        username = found.get("username", "")
        return InboundItem(
            external_id=str(found["id"]),
            author=InboundAuthor(external_id=username, handle=username, display_name=username),
            text=found.get("caption", ""),
            created_at=_parse_graph_time(found["timestamp"]),
            raw=found,
        )

    def send_reply(self, *, text: str, in_reply_to: str, idempotency_key: str) -> str:
        """A reply under the customer's comment."""
        with _translated_errors(self.platform_name, self.recorder, publishing=True):
            result = self.api.put_object(in_reply_to, "replies", message=text)
        return str(result["id"])


# --- webhooks --------------------------------------------------------------------------------


def parse_meta_delivery(body: dict[str, Any]) -> list[WebhookItem]:
    """Items from a Meta webhook delivery (`object` "page" or "instagram")."""
    if not isinstance(body, dict) or body.get("object") not in {"page", "instagram"}:
        raise ValueError("not a Meta page or instagram delivery")
    found: list[WebhookItem] = []
    for entry in body.get("entry", []):
        account_id = str(entry["id"])
        for change in entry.get("changes", []):
            if body["object"] == "instagram" and change.get("field") == "mentions":
                # Only ids: the mentioning comment or caption is fetched when processed.
                value = change.get("value") or {}
                lookup = {"media_id": str(value.get("media_id", ""))}
                if value.get("comment_id"):
                    lookup["comment_id"] = str(value["comment_id"])
                found.append(WebhookItem(account_id, None, lookup))
                continue
            item = _change_item(body["object"], change, account_id)
            if item is not None:
                found.append(WebhookItem(account_id, item))
        for event in entry.get("messaging", []):
            message = event.get("message")
            sender = str(event["sender"]["id"])
            if not message or sender == account_id or message.get("is_echo"):
                continue
            found.append(
                WebhookItem(
                    account_id,
                    InboundItem(
                        external_id=message["mid"],
                        author=InboundAuthor(external_id=sender, handle=sender),
                        text=message.get("text", ""),
                        created_at=datetime.fromtimestamp(int(event["timestamp"]) / 1000, UTC),
                        raw=event,
                        kind="message",
                    ),
                )
            )
    return found


def _change_item(obj: str, change: dict[str, Any], account_id: str) -> InboundItem | None:
    value = change.get("value") or {}
    if obj == "instagram" and change.get("field") == "comments":
        if (value.get("from") or {}).get("id") == account_id:
            return None
        return ig_comment(value, media_id=(value.get("media") or {}).get("id", ""))
    if obj != "page" or change.get("field") != "feed":
        return None
    if value.get("item") not in {"post", "status", "comment"}:
        return None
    author = value.get("from") or {}
    if author.get("id") == account_id:
        return None
    is_comment = value["item"] == "comment"
    external_id = value["comment_id"] if is_comment else value["post_id"]
    parent = value.get("parent_id") or value.get("post_id") if is_comment else ""
    event = {"edited": ItemEvent.EDITED, "remove": ItemEvent.DELETED}.get(
        value.get("verb"), ItemEvent.CREATED
    )
    created = value.get("created_time")
    return InboundItem(
        external_id=str(external_id),
        author=InboundAuthor(
            external_id=str(author.get("id", "")),
            handle=author.get("name", ""),
            display_name=author.get("name", ""),
        ),
        text=value.get("message", ""),
        created_at=datetime.fromtimestamp(int(created), UTC) if created else datetime.now(UTC),
        in_reply_to=str(parent),
        raw=value,
        kind="comment" if is_comment else "post",
        event=event,
    )


# --- helpers ---------------------------------------------------------------------------------


def fb_item(data: dict[str, Any], *, kind: str, parent: str = "") -> InboundItem:
    """A Graph API post, comment or Messenger message."""
    author = data.get("from") or {}
    parent_id = (data.get("parent") or {}).get("id") or parent
    return InboundItem(
        external_id=str(data["id"]),
        author=InboundAuthor(
            external_id=str(author.get("id", "")),
            handle=author.get("name", "") or author.get("email", ""),
            display_name=author.get("name", ""),
        ),
        text=data.get("message", ""),
        created_at=_parse_graph_time(data["created_time"]),
        in_reply_to=parent_id,
        raw=data,
        kind=kind,
    )


def ig_comment(data: dict[str, Any], *, media_id: str) -> InboundItem:
    """An Instagram Graph API comment (from a poll or a `comments` webhook change)."""
    author = data.get("from") or {}
    username = author.get("username") or data.get("username", "")
    return InboundItem(
        external_id=str(data["id"]),
        author=InboundAuthor(
            external_id=str(author.get("id") or username), handle=username, display_name=username
        ),
        text=data.get("text", ""),
        created_at=_parse_graph_time(data["timestamp"])
        if "timestamp" in data
        else datetime.now(UTC),
        in_reply_to=str(data.get("parent_id") or media_id),
        raw=data,
        kind="comment",
    )


def _parse_graph_time(value: str) -> datetime:
    # The Graph API writes "2024-05-01T10:00:00+0000".
    return datetime.fromisoformat(re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value))


class _translated_errors:
    """Turns facebook-sdk's and requests' exceptions into the connector errors services use."""

    def __init__(self, platform: str, recorder: RateLimitRecorder, *, publishing: bool = False):
        self.platform = platform
        self.recorder = recorder
        self.publishing = publishing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or isinstance(error, ConnectorError):
            return False
        if isinstance(error, facebook.GraphAPIError):
            code = error.code
            text = f"{self.platform} answered: {error.message}" + (
                f" (code {code})" if code else ""
            )
            if code in RATE_LIMIT_CODES:
                raise RateLimited(text, reset_at=self._reset_at()) from error
            if code in PERMANENT_CODES:
                raise PermanentError(text) from error
            if code in TRANSIENT_CODES or code is None:
                # No code: a 5xx page that is not JSON at all.
                raise TransientError(text) from error
            raise ConnectorError(text) from error
        if isinstance(error, requests.RequestException):
            raise_transport_error(error, platform=self.platform, publishing=self.publishing)
        return False

    def _reset_at(self) -> datetime:
        """When Meta says access comes back: the business-use-case header's estimate."""
        wait = DEFAULT_RATE_LIMIT_WAIT
        for reported in self.recorder.state.values():
            usage = reported.get("x-business-use-case-usage")
            if not usage:
                continue
            try:
                for entries in json.loads(usage).values():
                    for entry in entries:
                        minutes = int(entry.get("estimated_time_to_regain_access", 0))
                        if minutes:
                            wait = max(wait, timedelta(minutes=minutes))
            except (ValueError, AttributeError, TypeError):
                continue
        return datetime.now(UTC) + wait
