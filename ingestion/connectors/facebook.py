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
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any
from urllib.parse import parse_qs, urlsplit

import facebook
import requests
from django.conf import settings

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
    unknown_author,
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

# Conversations pages read per poll (25 conversations a page): the most recently updated
# come first, so a page that gets more new conversations than this between two polls needs a
# shorter poll interval (webhooks carry them anyway).
MAX_CONVERSATION_PAGES = 4
FB_FEED_FIELDS = (
    "id,message,created_time,from{id,name},"
    "attachments{media_type,type,url,description,media{image{src}},subattachments},"
    "comments.limit(100).filter(stream){id,message,created_time,from{id,name},parent{id},"
    "attachment{media_type,type,url,description,media{image{src}}}}"
)
FB_CONVERSATION_FIELDS = (
    "id,updated_time,messages.limit(25){id,message,created_time,from,"
    "attachments{mime_type,name,file_url,image_data{url,preview_url},video_data{url,preview_url}}}"
)
# Feed changes that are engagement with a post, not posts: counted, never a conversation.
FEED_ENGAGEMENT_ITEMS = {"reaction", "like"}
# Feed verbs that change no text: a page moderator hiding a comment, a block.
FEED_IGNORED_VERBS = {"hide", "unhide", "block", "unblock"}
IG_MEDIA_FIELDS = "id,caption,timestamp,comments.limit(100){id,text,timestamp,from{id,username}}"


def make_graph_api(
    access_token: str, *, session: requests.Session | None = None
) -> facebook.GraphAPI:
    """A Graph API client that calls `settings.FACEBOOK_GRAPH_API_VERSION` at
    `settings.META_GRAPH_URL`."""
    if settings.META_GRAPH_URL != facebook.FACEBOOK_GRAPH_URL:
        session = _redirected(session or requests.Session(), settings.META_GRAPH_URL)
    api = facebook.GraphAPI(access_token=access_token, timeout=DEFAULT_TIMEOUT[1], session=session)
    # Set after construction: the constructor rejects any version above 3.1.
    api.version = settings.FACEBOOK_GRAPH_API_VERSION
    return api


def _redirected(session: requests.Session, base_url: str) -> requests.Session:
    """The session, sending to `base_url` what facebook-sdk addresses to Meta's host (the
    SDK has the host as a module constant, not an option)."""
    send = session.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        if url.startswith(facebook.FACEBOOK_GRAPH_URL):
            url = base_url + url.removeprefix(facebook.FACEBOOK_GRAPH_URL)
        return send(method, url, *args, **kwargs)

    session.request = request  # type: ignore[method-assign]
    return session


class _GraphConnector:
    platform_name = "Meta"

    def __init__(self, *, account_id: str, handle: str, credentials: dict[str, Any]) -> None:
        self.account_id = account_id
        self.handle = handle
        # Instagram: the Facebook Page linked to the account, through which it messages.
        self.page_id = str(credentials.get("page_id") or "")
        if not credentials.get("page_access_token"):
            raise PermanentError(
                f"@{handle} has no page access token: connect the account with Facebook, or "
                "enter the token on the account."
            )
        self.recorder = RateLimitRecorder()
        self.api = make_graph_api(
            credentials.get("page_access_token", ""), session=session_with_timeout(self.recorder)
        )

    # What the app subscribes to on the page (POST /{page-id}/subscribed_apps), per platform.
    webhook_fields: tuple[str, ...] = ()

    def _subscription_node(self) -> str:
        return self.account_id

    def check_connection(self) -> list[ConnectionCheck]:
        """Cheap authenticated calls, one per capability, said in words."""
        checks = []
        try:
            with _translated_errors(self.platform_name, self.recorder):
                found = self.api.get_object(self.account_id, fields=self._identity_fields)
            name = found.get("name") or found.get("username") or self.account_id
            checks.append(
                ConnectionCheck(
                    "read", True, f"The token reads {name}: posts and comments come in."
                )
            )
            checks.append(
                ConnectionCheck(
                    "reply",
                    True,
                    "Replies use the same token (they need the page's MODERATE task).",
                )
            )
        except ConnectorError as error:
            checks.append(ConnectionCheck("read", False, str(error)))
            checks.append(ConnectionCheck("reply", False, "Not possible without a working token."))
        try:
            node = self._messages_node()
            checks.append(
                ConnectionCheck("DMs", True, f"Private messages go out through page {node}.")
            )
        except ConnectorError as error:
            node = ""
            checks.append(ConnectionCheck("DMs", False, str(error)))
        try:
            with _translated_errors(self.platform_name, self.recorder):
                apps = self.api.get_connections(self._subscription_node(), "subscribed_apps")
            fields = sorted(
                {
                    field
                    for app in apps.get("data", [])
                    for field in app.get("subscribed_fields", [])
                }
            )
            missing = [field for field in self.webhook_fields if field not in fields]
            if not apps.get("data"):
                checks.append(
                    ConnectionCheck(
                        "webhooks", False, "No app is subscribed to the page's webhooks."
                    )
                )
            elif missing:
                checks.append(
                    ConnectionCheck(
                        "webhooks",
                        False,
                        f"Subscribed to {', '.join(fields)}; missing {', '.join(missing)}.",
                    )
                )
            else:
                checks.append(
                    ConnectionCheck("webhooks", True, f"Subscribed to {', '.join(fields)}.")
                )
        except ConnectorError as error:
            checks.append(ConnectionCheck("webhooks", False, str(error)))
        return checks

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

    # Messenger User Profile API: GET /{psid}?fields=first_name,last_name,profile_pic
    # https://developers.facebook.com/docs/messenger-platform/identity/user-profile
    _profile_fields = "first_name,last_name,profile_pic"

    def fetch_profile(self, user_id: str) -> dict[str, str]:
        """The name, username and picture of a customer known by a page-scoped id."""
        with _translated_errors(self.platform_name, self.recorder):
            found = self.api.get_object(user_id, fields=self._profile_fields)
        name = found.get("name") or " ".join(
            part for part in (found.get("first_name"), found.get("last_name")) if part
        )
        return {
            "name": name,
            "username": found.get("username", ""),
            "picture_url": found.get("profile_pic", ""),
        }

    def _messages_node(self) -> str:
        """The node whose `/messages` edge sends: the Facebook Page itself."""
        return self.account_id

    # Who wrote a post or comment Meta delivered without `from`: asked again with the Page
    # token, which may see the author the webhook left out (it depends on the app's access).
    _author_fields = "from{id,name}"

    def fetch_author(self, post_id: str) -> InboundAuthor | None:
        """The author of a stored post, if the token may see it; None if not."""
        with _translated_errors(self.platform_name, self.recorder):
            found = self.api.get_object(post_id, fields=self._author_fields)
        author = found.get("from") or {}
        if not author.get("id"):
            return None
        name = author.get("name") or author.get("username") or ""
        return InboundAuthor(
            external_id=str(author["id"]),
            handle=author.get("username") or name or str(author["id"]),
            display_name=name,
        )

    def send_private_message(
        self,
        *,
        recipient_id: str,
        text: str,
        idempotency_key: str,
        human_agent: bool = False,
    ) -> str:
        """A Messenger / Instagram Direct message to a customer's page-scoped id.

        Send API: POST /{page-id}/messages with `recipient`, `messaging_type` and `message`
        (https://developers.facebook.com/docs/messenger-platform/reference/send-api/). Inside
        24 hours of the customer's message it is a RESPONSE; later, up to 7 days, a human
        agent's answer is a MESSAGE_TAG with tag HUMAN_AGENT
        (https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags/).
        """
        post_args = {
            "recipient": json.dumps({"id": recipient_id}),
            "messaging_type": "MESSAGE_TAG" if human_agent else "RESPONSE",
            "message": json.dumps({"text": text}),
        }
        if human_agent:
            post_args["tag"] = "HUMAN_AGENT"
        with _translated_errors(self.platform_name, self.recorder, publishing=True):
            result = self.api.request(
                f"{self.api.version}/{self._messages_node()}/messages", post_args=post_args
            )
        return str(result.get("message_id") or result["id"])

    def send_private_reply(self, *, comment_id: str, text: str) -> str:
        """Answer a public comment with a private message (Meta's "private reply")."""
        with _translated_errors(self.platform_name, self.recorder, publishing=True):
            result = self.api.request(
                f"{self.api.version}/{self._messages_node()}/messages",
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

    # --- social actions ----------------------------------------------------------------------
    # The field that hides a comment: Facebook's `is_hidden`, Instagram's `hide`.
    hide_field = "is_hidden"

    def hide_comment(self, *, comment_id: str, hidden: bool) -> None:
        """POST /{comment-id} with is_hidden (Facebook) or hide (Instagram)
        (https://developers.facebook.com/docs/graph-api/reference/comment,
        https://developers.facebook.com/docs/instagram-api/guides/comment-moderation)."""
        with _translated_errors(self.platform_name, self.recorder):
            result = self.api.request(
                f"{self.api.version}/{comment_id}",
                post_args={self.hide_field: "true" if hidden else "false"},
                method="POST",
            )
        _expect_success(result, self.platform_name)

    def delete_post(self, *, post_id: str) -> None:
        """DELETE /{comment-id}: the brand's own comment or reply."""
        with _translated_errors(self.platform_name, self.recorder):
            result = self.api.delete_object(post_id)
        _expect_success(result, self.platform_name)


class FacebookPageConnector(_GraphConnector):
    platform_name = "Facebook"
    _identity_fields = "id,name"
    webhook_fields = ("feed", "messages")
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
            # Every page of conversations (`paging.next`), bounded: the most recently updated
            # come first, so the bound only leaves out conversations quiet since the cursor.
            conversations = islice(
                self._all_pages(
                    "conversations", fields=FB_CONVERSATION_FIELDS, platform="messenger"
                ),
                MAX_CONVERSATION_PAGES * 25,
            )
            for conversation in conversations:
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

    def like_post(self, *, post_id: str, liked: bool) -> None:
        """POST /{object-id}/likes to like as the Page; DELETE it to unlike
        (https://developers.facebook.com/docs/graph-api/reference/object/likes)."""
        with _translated_errors(self.platform_name, self.recorder):
            if liked:
                result = self.api.put_object(post_id, "likes")
            else:
                result = self.api.request(f"{self.api.version}/{post_id}/likes", method="DELETE")
        _expect_success(result, self.platform_name)

    def block_author(self, *, author_id: str) -> None:
        """POST /{page-id}/blocked with `user`: the person can no longer post or comment on
        the Page (https://developers.facebook.com/docs/graph-api/reference/page/blocked).
        Meta answers `{"<user-id>": true}`."""
        with _translated_errors(self.platform_name, self.recorder):
            result = self.api.put_object(self.account_id, "blocked", user=author_id)
        if not isinstance(result, dict) or result.get(str(author_id)) is not True:
            raise ConnectorError(f"{self.platform_name} did not block the user.")


class InstagramConnector(_GraphConnector):
    platform_name = "Instagram"
    _identity_fields = "id,username"
    # Instagram webhooks come through the linked Page's subscription.
    webhook_fields = ()
    _replies_edge = "replies"
    _reply_fields = "id,text,from{id}"
    _author_fields = "from{id,username}"
    # Instagram user profile: GET /{igsid}?fields=name,username,profile_pic
    # https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api/user-profile
    _profile_fields = "name,username,profile_pic"

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
                item = ig_comment(found, media_id=media)
                # Answered through /{ig-user-id}/mentions, not under the comment.
                mention = {"media_id": str(media), "comment_id": str(found["id"])}
                return replace(item, raw={**item.raw, "parley_mention": mention})
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
            raw={**found, "parley_mention": {"media_id": str(found["id"])}},
        )

    hide_field = "hide"

    def _subscription_node(self) -> str:
        return self.page_id or self.account_id

    def _messages_node(self) -> str:
        """Instagram Direct messages go through the linked Facebook Page with its token
        (Instagram Messaging, Facebook Login: POST /{page-id}/messages,
        https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message/);
        POST /{ig-user-id}/messages is not an endpoint of that API."""
        if not self.page_id:
            raise ReplyRejected(
                "This Instagram account has no linked Facebook Page id: Instagram messages are "
                "sent through the Page. Connect the account again, or enter the Page id."
            )
        return self.page_id

    def send_reply(self, *, text: str, in_reply_to: str, idempotency_key: str) -> str:
        """A reply under the customer's comment: POST /{ig-comment-id}/replies with `message`
        (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies)."""
        with _translated_errors(self.platform_name, self.recorder, publishing=True):
            result = self.api.put_object(in_reply_to, "replies", message=text)
        return str(result["id"])

    def send_mention_reply(self, *, text: str, media_id: str, comment_id: str = "") -> str:
        """Answer someone who @mentioned the account, in a comment or a caption: POST
        /{ig-user-id}/mentions with `media_id`, `comment_id` (for a comment) and `message`
        (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/mentions).
        The mention is on someone else's media, where /{id}/replies is refused."""
        args = {"media_id": media_id, "message": text}
        if comment_id:
            args["comment_id"] = comment_id
        with _translated_errors(self.platform_name, self.recorder, publishing=True):
            result = self.api.put_object(self.account_id, "mentions", **args)
        return str(result["id"])


# --- webhooks --------------------------------------------------------------------------------


def parse_meta_delivery(body: dict[str, Any]) -> ParsedDelivery:
    """What a Meta webhook delivery (`object` "page" or "instagram") carries, read event by
    event: an unreadable event is skipped with its JSON path, the others are kept."""
    if not isinstance(body, dict) or body.get("object") not in {"page", "instagram"}:
        raise ValueError("not a Meta page or instagram delivery")
    obj = body["object"]
    parsed = ParsedDelivery()
    for entry_index, entry in enumerate(body.get("entry") or []):
        path = f"entry[{entry_index}]"
        try:
            account_id = str(entry["id"])
        except SHAPE_ERRORS as error:
            parsed.problems.append(f"{path}: unreadable entry skipped ({error!r})")
            continue
        for index, change in enumerate(entry.get("changes") or []):
            with parsed.event(f"{path}.changes[{index}]"):
                if obj == "instagram" and change.get("field") == "mentions":
                    # Only ids: the mentioning comment or caption is fetched when processed.
                    value = change.get("value") or {}
                    lookup = {"media_id": str(value["media_id"])}
                    if value.get("comment_id"):
                        lookup["comment_id"] = str(value["comment_id"])
                    parsed.items.append(WebhookItem(account_id, None, lookup))
                    continue
                item = _change_item(obj, change, account_id)
                if item is not None:
                    parsed.items.append(WebhookItem(account_id, item))
        # `standby`: messages that came while another app (a bot) holds the thread under
        # Meta's handover protocol; agents see them too.
        for key in ("messaging", "standby"):
            for index, event in enumerate(entry.get(key) or []):
                with parsed.event(f"{path}.{key}[{index}]"):
                    item = messaging_item(event, account_id, standby=key == "standby")
                    if item is not None:
                        parsed.items.append(WebhookItem(account_id, item))
    return parsed


def messaging_item(
    event: dict[str, Any], account_id: str, *, standby: bool = False
) -> InboundItem | None:
    """A customer's Messenger / Instagram Direct message; None for the other events (echoes
    of the page's own messages, reads, deliveries, opt-ins, postbacks)."""
    message = event.get("message")
    if not message or message.get("is_echo"):
        return None
    sender = str(event["sender"]["id"])
    if sender == account_id:
        return None
    raw = {**event, "parley_standby": True} if standby else event
    return InboundItem(
        external_id=str(message["mid"]),
        # A page-scoped id: the name comes from a profile lookup (ingestion.profiles).
        author=InboundAuthor(external_id=sender, handle=sender),
        text=message.get("text", ""),
        created_at=datetime.fromtimestamp(int(event["timestamp"]) / 1000, UTC),
        raw=raw,
        kind="message",
        attachments=tuple(
            _message_attachment(attachment) for attachment in message.get("attachments") or []
        ),
    )


def _change_item(obj: str, change: dict[str, Any], account_id: str) -> InboundItem | None:
    value = change.get("value") or {}
    if obj == "instagram" and change.get("field") == "comments":
        if (value.get("from") or {}).get("id") == account_id:
            return None
        return ig_comment(value, media_id=(value.get("media") or {}).get("id", ""))
    if obj != "page" or change.get("field") != "feed":
        return None
    kind, verb = value.get("item"), value.get("verb")
    if verb in FEED_IGNORED_VERBS:
        return None
    # Older deliveries name the author with sender_id / sender_name instead of `from`.
    author = value.get("from") or (
        {"id": value["sender_id"], "name": value.get("sender_name", "")}
        if value.get("sender_id")
        else {}
    )
    if str(author.get("id", "")) == account_id:
        return None
    created = value.get("created_time")
    created_at = datetime.fromtimestamp(int(created), UTC) if created else datetime.now(UTC)
    if kind in FEED_ENGAGEMENT_ITEMS:
        if verb != "add":
            return None
        target = value.get("comment_id") or value["post_id"]
        liker = str(author.get("id", ""))
        return InboundItem(
            external_id=f"{kind}:{target}:{liker}",
            author=_graph_author(author, f"{kind}:{target}"),
            text="",
            created_at=created_at,
            in_reply_to=str(target),
            raw={"parley_engagement": "like"},
            event=ItemEvent.ENGAGEMENT,
        )
    # Every other item is something a visitor wrote or posted: a status, a photo, a video,
    # a shared link, an album, a comment.
    is_comment = kind == "comment"
    external_id = value.get("comment_id") if is_comment else value.get("post_id")
    if not external_id:
        raise ValueError(
            f"feed {kind!r} change without {'comment_id' if is_comment else 'post_id'}"
        )
    parent = (value.get("parent_id") or value.get("post_id")) if is_comment else ""
    event = {"edited": ItemEvent.EDITED, "remove": ItemEvent.DELETED}.get(verb, ItemEvent.CREATED)
    return InboundItem(
        external_id=str(external_id),
        author=_graph_author(author, str(external_id)),
        text=value.get("message", ""),
        created_at=created_at,
        in_reply_to=str(parent or ""),
        raw=value,
        kind="comment" if is_comment else "post",
        event=event,
        attachments=_feed_change_attachments(kind, value),
    )


# --- helpers ---------------------------------------------------------------------------------


def fb_item(data: dict[str, Any], *, kind: str, parent: str = "") -> InboundItem:
    """A Graph API post, comment or Messenger message."""
    parent_id = (data.get("parent") or {}).get("id") or parent
    return InboundItem(
        external_id=str(data["id"]),
        author=_graph_author(data.get("from") or {}, str(data["id"])),
        text=data.get("message", ""),
        created_at=_parse_graph_time(data["created_time"]),
        in_reply_to=parent_id,
        raw=data,
        kind=kind,
        attachments=_graph_attachments(data),
    )


def ig_comment(data: dict[str, Any], *, media_id: str) -> InboundItem:
    """An Instagram Graph API comment (from a poll or a `comments` webhook change)."""
    author = data.get("from") or {}
    username = author.get("username") or data.get("username", "")
    # Keyed by the IG user id when Meta gives it: a username can change, and a mention
    # keyed by it would be a second customer for the person who also comments and DMs.
    user_id = str(author.get("id") or username)
    return InboundItem(
        external_id=str(data["id"]),
        author=(
            InboundAuthor(external_id=user_id, handle=username, display_name=username)
            if user_id
            else unknown_author(str(data["id"]))
        ),
        text=data.get("text", ""),
        created_at=_parse_graph_time(data["timestamp"])
        if "timestamp" in data
        else datetime.now(UTC),
        in_reply_to=str(data.get("parent_id") or media_id),
        raw=data,
        kind="comment",
    )


def _graph_author(author: dict[str, Any], post_id: str) -> InboundAuthor:
    """The author Meta named (`from`), or a customer of the post's own when it named none."""
    author_id = str(author.get("id") or "")
    if not author_id:
        return unknown_author(post_id)
    name = author.get("name", "")
    return InboundAuthor(external_id=author_id, handle=name or author_id, display_name=name)


def _graph_attachments(data: dict[str, Any]) -> tuple[Attachment, ...]:
    """Attachments of a polled post (`attachments`), comment (`attachment`) or message."""
    found: list[Attachment] = []
    entries = list((data.get("attachments") or {}).get("data", []))
    if data.get("attachment"):
        entries.append(data["attachment"])
    for entry in entries:
        subs = (entry.get("subattachments") or {}).get("data", [])
        for part in subs or [entry]:
            image = ((part.get("media") or {}).get("image") or {}).get("src", "")
            if part.get("image_data") or part.get("video_data") or part.get("file_url"):
                media = part.get("image_data") or part.get("video_data") or {}
                kind = (
                    "photo"
                    if part.get("image_data")
                    else "video"
                    if part.get("video_data")
                    else "file"
                )
                found.append(
                    Attachment(
                        type=kind,
                        url=media.get("url") or part.get("file_url", ""),
                        preview_url=media.get("preview_url", ""),
                        alt_text=part.get("name", ""),
                    )
                )
                continue
            kind = str(part.get("media_type") or part.get("type") or "link").lower()
            found.append(
                Attachment(
                    type="photo" if kind in {"photo", "image", "album"} else kind,
                    url=part.get("url") or image,
                    preview_url=image,
                    alt_text=part.get("description", ""),
                )
            )
    return tuple(found)


def _feed_change_attachments(kind: str | None, value: dict[str, Any]) -> tuple[Attachment, ...]:
    """Media of a `feed` webhook change: a photo's or video's `link`, a status's `photos`, a
    shared `link`, a comment's `photo`."""
    found = [
        Attachment(type="photo", url=url, preview_url=url) for url in value.get("photos") or []
    ]
    link = value.get("link")
    if kind == "photo" and link:
        found.append(Attachment(type="photo", url=link, preview_url=link))
    elif kind == "video" and link:
        found.append(Attachment(type="video", url=link))
    elif link:
        found.append(Attachment(type="link", url=link))
    if value.get("photo"):
        found.append(Attachment(type="photo", url=value["photo"], preview_url=value["photo"]))
    if value.get("video"):
        found.append(Attachment(type="video", url=value["video"]))
    return tuple(found)


def _message_attachment(attachment: dict[str, Any]) -> Attachment:
    """A Messenger / Instagram Direct attachment (`type` and `payload.url`)."""
    payload = attachment.get("payload") or {}
    kind = attachment.get("type", "file")
    url = payload.get("url", "")
    return Attachment(
        type="photo" if kind == "image" else kind,
        url=url,
        preview_url=url if kind in {"image", "sticker"} else "",
        alt_text=attachment.get("title") or payload.get("title") or "",
    )


def _expect_success(result: Any, platform: str) -> None:
    """Meta answers a like, hide or delete with `{"success": true}`."""
    if not isinstance(result, dict) or result.get("success") is not True:
        raise ConnectorError(f"{platform} did not confirm the change: {result!r}")


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
