"""A make-believe platform that produces realistic customer posts at a steady rate.

It is the embedded default source, so a fresh install has a live inbox to work before any
real platform is connected. Polling it yields the posts "made" since the last poll: questions,
requests, praise, chatter, complaints, outage reports, spam, and follow-ups that thread into
earlier posts.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from .base import FetchResult, InboundAuthor, InboundItem

# Enough people to see repeat customers, one of them an influencer.
DEMO_CUSTOMERS = [
    InboundAuthor("demo-u-1", "maria_travels", "Maria Lopez", 1_240),
    InboundAuthor("demo-u-2", "techdad42", "Sam Okafor", 310),
    InboundAuthor("demo-u-3", "jenny_bakes", "Jenny Park", 5_820),
    InboundAuthor("demo-u-4", "alex_runs", "Alex Martin", 88),
    InboundAuthor("demo-u-5", "priya.codes", "Priya Nair", 2_400),
    InboundAuthor("demo-u-6", "tom_h", "Tom Hughes", 45),
    InboundAuthor("demo-u-7", "gadgetguru", "Gadget Guru", 412_000, is_verified=True),
    InboundAuthor("demo-u-8", "lena_k", "Lena Kowalski", 760),
    InboundAuthor("demo-u-9", "ben_outdoors", "Ben Carter", 1_030),
    InboundAuthor("demo-u-10", "nadia_writes", "Nadia Haddad", 15_300),
    InboundAuthor("demo-u-11", "chris_p", "Chris Potter", 230),
    InboundAuthor("demo-u-12", "deals4u_now", "Deals 4 U", 12),
]

PRODUCTS = ["the app", "my order", "the Pro plan", "my card", "the router", "my account"]

# (text, weight). {order} and {product} are filled in per post. The mix is that of real brand
# mentions: mostly questions, requests, praise and chatter; about a third complaints; a few
# that a supervisor must see at once (outages, a legal threat); a little spam.
DEMO_POSTS = [
    ("@{brand} how do I change the delivery address on order #{order}?", 4),
    ("@{brand} is there a student discount on the Pro plan?", 3),
    ("@{brand} what time does support open on Sundays?", 2),
    ("@{brand} do you ship to Canada?", 2),
    ("@{brand} does the Pro plan include API access?", 2),
    ("@{brand} can you help me reset my password? The link never arrives", 3),
    ("@{brand} please cancel order #{order}, I ordered the wrong size", 2),
    ("@{brand} I need a refund for order #{order}, it arrived broken", 3),
    ("@{brand} I've been charged twice for {product}. Third time this month. Not happy.", 2),
    ("@{brand} your app is down again?? Can't log in at all #outage", 2),
    ("@{brand} is the website down for everyone or just me? Error 503 since this morning", 1),
    ("@{brand} order #{order} was due Monday. Still nothing and no reply to my emails", 2),
    ("@{brand} worst customer service ever, waited 2 hours on the phone", 2),
    ("@{brand} the latest update keeps crashing when I open settings", 2),
    ("@{brand} just wanted to say your support team was amazing today, thank you Jess!", 3),
    ("Loving the new dark mode from @{brand} 😍", 2),
    ("@{brand} thanks for sorting my issue so quickly, great service", 2),
    ("@{brand} the new update is so much faster, nice work", 2),
    ("@{brand} it would be great if you added Apple Pay at checkout", 2),
    ("@{brand} suggestion: let us export invoices as PDF", 1),
    ("@{brand} hello there", 1),
    ("just saw the @{brand} ad on TV with the dancing cat 😂", 2),
    ("@{brand} I will take you to court if my money isn't returned this week", 1),
    ("WIN a FREE iPhone!!! click here bit.ly/fr33-stuff follow @{brand} and RT", 1),
    ("@{brand} 🔥🔥🔥 crypto signals DM me for 1000% gains", 1),
]

FOLLOW_UPS = [
    ("@{brand} any update on this?", 2),
    ("@{brand} still waiting for an answer...", 2),
    ("@{brand} I sent you a DM with the details", 2),
    ("@{brand} thanks, that worked!", 2),
    ("@{brand} this is ridiculous, nobody is answering", 1),
]

FOLLOW_UP_SHARE = 0.25
RECENT_POSTS_KEPT = 20
MAX_POSTS_PER_POLL = 200
FIRST_POLL_BURST = 3


class DemoConnector:
    def __init__(self, *, brand_handle: str, posts_per_minute: float | None = None) -> None:
        self.brand_handle = brand_handle
        self.posts_per_minute = (
            settings.DEMO_FEED_POSTS_PER_MINUTE if posts_per_minute is None else posts_per_minute
        )

    def fetch_since(self, cursor: dict[str, Any]) -> FetchResult:
        now = timezone.now()
        seq = int(cursor.get("seq", 0))
        recent: list[list[str]] = list(cursor.get("recent", []))
        if "last_at" in cursor:
            last_at = datetime.fromisoformat(cursor["last_at"])
            interval = 60.0 / self.posts_per_minute if self.posts_per_minute > 0 else None
            due = int((now - last_at).total_seconds() / interval) if interval else 0
            count = min(due, MAX_POSTS_PER_POLL)
            # Carry the unspent fraction of time over, so the rate holds across polls.
            next_last_at = last_at + timedelta(seconds=count * interval) if count else last_at
            if due > MAX_POSTS_PER_POLL:
                next_last_at = now
        else:
            count, next_last_at = FIRST_POLL_BURST, now

        items = []
        for offset in range(count):
            seq += 1
            rng = random.Random(f"{self.brand_handle}:{seq}")
            created_at = now - timedelta(seconds=count - offset)
            item = self._make_item(rng, seq, created_at, recent)
            items.append(item)
            recent = [*recent, [item.external_id, item.author.external_id]][-RECENT_POSTS_KEPT:]

        return FetchResult(
            items=items,
            cursor={"seq": seq, "last_at": next_last_at.isoformat(), "recent": recent},
        )

    def send_reply(self, *, text: str, in_reply_to: str, idempotency_key: str) -> str:
        # The demo platform accepts every reply; the id is derived from the key so a retry
        # of the same reply gets the same id, as a real platform's dedupe would.
        return f"demo-reply-{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key)}"

    def send_private_message(self, *, recipient_id: str, text: str, idempotency_key: str) -> str:
        return f"demo-message-{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key)}"

    def find_published_reply(self, *, text: str, in_reply_to: str, since: datetime) -> str | None:
        # The demo platform answers every call, so no reply is ever in doubt.
        return None

    # The demo platform takes every social action; nothing is kept on its side.
    def like_post(self, *, post_id: str, liked: bool) -> None:
        return None

    def hide_comment(self, *, comment_id: str, hidden: bool) -> None:
        return None

    def delete_post(self, *, post_id: str) -> None:
        return None

    def block_author(self, *, author_id: str) -> None:
        return None

    def _make_item(
        self, rng: random.Random, seq: int, created_at: datetime, recent: list[list[str]]
    ) -> InboundItem:
        in_reply_to = ""
        if recent and rng.random() < FOLLOW_UP_SHARE:
            in_reply_to, author_id = rng.choice(recent)
            author = next(c for c in DEMO_CUSTOMERS if c.external_id == author_id)
            template = _weighted_choice(rng, FOLLOW_UPS)
        else:
            author = rng.choice(DEMO_CUSTOMERS)
            template = _weighted_choice(rng, DEMO_POSTS)
        text = template.format(
            brand=self.brand_handle, order=rng.randint(100000, 999999), product=rng.choice(PRODUCTS)
        )
        external_id = f"demo-{self.brand_handle}-{seq}"
        return InboundItem(
            external_id=external_id,
            author=author,
            text=text,
            created_at=created_at,
            in_reply_to=in_reply_to,
            raw={"id": external_id, "text": text, "author_id": author.external_id, "demo": True},
        )


def _weighted_choice(rng: random.Random, options: list[tuple[str, int]]) -> str:
    texts, weights = zip(*options, strict=True)
    return rng.choices(texts, weights=weights, k=1)[0]
