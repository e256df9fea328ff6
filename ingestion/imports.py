"""Importing posts from a JSON Lines file: one post per line, every line checked on its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rest_framework import serializers

from core.models import Platform

from .connectors import InboundAuthor, InboundItem, ItemEvent
from .connectors.facebook import fb_item, ig_comment, parse_meta_delivery
from .connectors.twitter import parse_account_activity, tweet_item
from .json_input import loads_storable
from .models import PlatformAccount
from .services import apply_item, ingest_item, record_engagements


class ImportedPostSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    external_id = serializers.CharField(max_length=100)
    author = serializers.CharField(max_length=100, help_text="The author's handle.")
    author_id = serializers.CharField(max_length=100, required=False)
    author_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    followers = serializers.IntegerField(min_value=0, required=False, default=0)
    verified = serializers.BooleanField(required=False, default=False)
    text = serializers.CharField(max_length=10_000, trim_whitespace=False)
    created_at = serializers.DateTimeField()
    in_reply_to = serializers.CharField(max_length=100, required=False, allow_blank=True)


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_line(line: str | bytes) -> tuple[str, InboundItem]:
    """The platform and the item of one line; raises ValueError saying what is wrong."""
    data = loads_storable(line)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    serializer = ImportedPostSerializer(data=data)
    if not serializer.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(str(message) for message in messages)}"
            for name, messages in serializer.errors.items()
        )
        raise ValueError(problems)
    post = serializer.validated_data
    author = InboundAuthor(
        external_id=post.get("author_id") or post["author"],
        handle=post["author"].lstrip("@"),
        display_name=post.get("author_name", ""),
        follower_count=post["followers"],
        is_verified=post["verified"],
    )
    item = InboundItem(
        external_id=post["external_id"],
        author=author,
        text=post["text"],
        created_at=post["created_at"],
        in_reply_to=post.get("in_reply_to", ""),
        raw=data,
    )
    return post["platform"], item


def import_lines(
    lines: Iterable[str | bytes],
    *,
    account: PlatformAccount | None = None,
    on_line: Callable[[], None] | None = None,
) -> ImportReport:
    """Import each line; a bad line is recorded with its number and the rest go on.

    Without `account`, each post goes to the first active account of its platform.
    `on_line` is called after every line, for progress displays.
    """
    report = ImportReport()
    accounts: dict[str, PlatformAccount | None] = {}
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                platform, item = parse_line(line)
                target = account or _account_for(platform, accounts)
                if target.platform != platform:
                    raise ValueError(
                        f"platform {platform!r} does not match account @{target.handle}"
                    )
                if ingest_item(account=target, item=item).created:
                    report.imported += 1
                else:
                    report.duplicates += 1
            except ValueError as error:
                report.errors.append((number, str(error)))
        if on_line is not None:
            on_line()
    return report


def _account_for(platform: str, cache: dict[str, PlatformAccount | None]) -> PlatformAccount:
    if platform not in cache:
        cache[platform] = (
            PlatformAccount.objects.filter(platform=platform, is_active=True).order_by("pk").first()
        )
    found = cache[platform]
    if found is None:
        raise ValueError(f"no active {platform} account to import into; add one in the admin")
    return found


# --- the platforms' own export formats ---------------------------------------------------------


def is_platform_export(document: object) -> bool:
    """An X API v2 or Graph API response body: an object with a `data` list (a JSON Lines
    post has `platform` instead)."""
    return isinstance(document, dict) and isinstance(document.get("data"), list)


def items_from_export(
    document: dict, *, platform: str, account_id: str = ""
) -> list[InboundItem | ValueError]:
    """The posts of an X API v2 or Graph API JSON document, in the account's platform's shape.

    X: `data` tweets with `includes.users` authors (mentions, search, timelines). Facebook:
    `data` posts with nested `comments` (page feed). Instagram: `data` media with nested
    `comments`. The account's own posts and comments (`account_id`) are left out. A malformed
    entry becomes a ValueError in its place, so it can be reported by
    position while the rest are imported.
    """
    import tweepy

    found: list[InboundItem | ValueError] = []
    if platform == Platform.TWITTER:
        users = {
            str(user.get("id")): tweepy.User(user)
            for user in (document.get("includes") or {}).get("users", [])
            if isinstance(user, dict) and "id" in user
        }
        for entry in document["data"]:
            found.append(_entry(lambda e=entry: tweet_item(e, users.get(str(e.get("author_id"))))))
    elif platform == Platform.FACEBOOK:
        for entry in document["data"]:
            if not _by(entry, account_id):
                found.append(_entry(lambda e=entry: fb_item(e, kind="post")))
            for comment in _comments(entry):
                if not _by(comment, account_id):
                    found.append(
                        _entry(
                            lambda c=comment, e=entry: fb_item(c, kind="comment", parent=e["id"])
                        )
                    )
    elif platform == Platform.INSTAGRAM:
        for entry in document["data"]:
            for comment in _comments(entry):
                if not _by(comment, account_id):
                    found.append(_entry(lambda c=comment, e=entry: ig_comment(c, media_id=e["id"])))
    else:
        raise ValueError(f"{platform} has no export format; use JSON Lines")
    return found


def import_export(
    document: dict,
    *,
    account: PlatformAccount,
    on_item: Callable[[], None] | None = None,
) -> ImportReport:
    """Import a platform export into `account`; bad entries are reported by position."""
    report = ImportReport()
    items = items_from_export(document, platform=account.platform, account_id=account.external_id)
    for number, item in enumerate(items, start=1):
        if isinstance(item, ValueError):
            report.errors.append((number, str(item)))
        elif ingest_item(account=account, item=item).created:
            report.imported += 1
        else:
            report.duplicates += 1
        if on_item is not None:
            on_item()
    return report


def describe_document(document: object) -> str:
    """What a whole-file JSON document is: "export", "account_activity", "meta_webhook" or
    "jsonl_post" (one JSON Lines post); else ValueError saying what it is and how to import it.
    """
    if is_platform_export(document):
        return "export"
    if not isinstance(document, dict):
        raise ValueError(
            "this file is one JSON document (a list or a value), not JSON Lines: write one post "
            "object a line, or give an X API v2 / Graph API response body with a `data` list"
        )
    if "platform" in document and "external_id" in document:
        return "jsonl_post"
    if "for_user_id" in document or "user_event" in document:
        return "account_activity"
    if document.get("object") in {"page", "instagram"} and "entry" in document:
        return "meta_webhook"
    if isinstance(document.get("data"), dict):
        data = document["data"]
        if "id" in data and "text" in data:
            raise ValueError(
                "this is one X API v2 tweet (a single lookup's answer): put it in a `data` "
                'list, with its author in `includes.users` ({"data": [...], "includes": '
                '{"users": [...]}})'
            )
        keys = ", ".join(sorted(data)[:6])
        raise ValueError(
            f"this is an X API v2 answer about one object (data: {keys}), which carries no "
            "posts to import"
        )
    if "replay_job_status" in document:
        raise ValueError("this is an X replay job status, which carries no posts")
    keys = ", ".join(sorted(document)[:6])
    raise ValueError(
        f"this file is one JSON document (keys: {keys}), not JSON Lines nor a format Parley "
        "knows: give JSON Lines (one post object a line), an X API v2 / Graph API response "
        "body with a `data` list, an X Account Activity body or a Meta webhook body"
    )


def import_webhook_body(document: dict, *, account: PlatformAccount | None = None) -> ImportReport:
    """Import what an X Account Activity or Meta webhook body carries (say, one saved from a
    log), as if the platform had delivered it: each event is read on its own and a bad one
    reported by position; each item goes to the active account it was sent for."""
    if "for_user_id" in document or "user_event" in document:
        platform, parsed = Platform.TWITTER, parse_account_activity(document)
    else:
        platform = Platform.FACEBOOK if document["object"] == "page" else Platform.INSTAGRAM
        parsed = parse_meta_delivery(document)
    report = ImportReport()
    for number, problem in enumerate(parsed.problems, start=1):
        report.errors.append((number, problem))
    if parsed.revoked:
        report.errors.append((0, "an access revocation is applied only when X delivers it"))
    accounts: dict[str, PlatformAccount | None] = {}
    for number, webhook_item in enumerate(parsed.items, start=1):
        key = webhook_item.account_external_id
        if key not in accounts:
            accounts[key] = (
                account
                if account is not None and account.external_id == key
                else PlatformAccount.objects.filter(
                    platform=platform, external_id=key, is_active=True
                ).first()
            )
        target, item = accounts[key], webhook_item.item
        if target is None:
            report.errors.append((number, f"no active {platform} account with id {key}"))
        elif item is None:
            report.errors.append(
                (number, "an Instagram mention names only its media; it is fetched when delivered")
            )
        elif item.event == ItemEvent.ENGAGEMENT:
            record_engagements(account=target, items=[item])
        elif item.event == ItemEvent.CREATED:
            if ingest_item(account=target, item=item).created:
                report.imported += 1
            else:
                report.duplicates += 1
        else:
            apply_item(account=target, item=item)
    return report


def _entry(build: Callable[[], InboundItem]) -> InboundItem | ValueError:
    try:
        item = build()
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        return ValueError(f"not a post in the platform's shape ({type(error).__name__}: {error})")
    # An entry without an author is kept under an "unknown author" of its own, as the
    # webhook and the poll keep it (ingestion.store).
    return item


def _comments(entry: object) -> list:
    if not isinstance(entry, dict):
        return []
    return (entry.get("comments") or {}).get("data", [])


def _by(entry: object, account_id: str) -> bool:
    return (
        bool(account_id)
        and isinstance(entry, dict)
        and ((entry.get("from") or {}).get("id") == account_id)
    )
