"""Synthetic, realistic traffic: what customers write, who writes it, how threads form.

Two generators share the same vocabulary:

* `storm_payloads` builds X Account Activity deliveries (the JSON the platform pushes), with
  returning customers and replies threading onto earlier tweets, for the ingest benchmark;
* `bulk_history` loads a long history (customers, conversations, posts, SLA timers) straight
  into the tables with COPY, for the benchmarks that need 10 k … 1 M stored posts.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from django.apps import apps
from django.db import connection, models
from tqdm import tqdm

OPENINGS = ["", "hi ", "hey ", "hello ", "@support ", "so ", "ok "]
MESSAGES = [
    "my order #{n} never arrived and nobody answers",
    "your app is down again, can't log in #outage",
    "I was charged twice for order {n}, I want a refund",
    "how do I change the delivery address on order {n}?",
    "can you help me reset my password please",
    "is there a store near {city}?",
    "thanks, the replacement arrived and works great!",
    "loving the new update, amazing job",
    "would be great if you could add dark mode",
    "still waiting for a reply after 3 days, ridiculous",
    "what time does the {city} store open on Sunday?",
    "please cancel my subscription, account {n}",
    "error 502 when I try to pay, worst experience ever",
    "win a free iphone, click here",
    "my parcel says delivered but it is not here",
    "the app keeps crashing when I open my basket",
    "I will take this to court if I don't get my money back",
    "great service from Ana in {city} today, thank you",
]
CITIES = ["Lisbon", "Madrid", "Leeds", "Austin", "Lyon", "Turin", "Porto", "Dublin"]


def post_text(rng: random.Random) -> str:
    message = rng.choice(MESSAGES).format(n=rng.randint(100000, 999999), city=rng.choice(CITIES))
    return rng.choice(OPENINGS) + message


def follower_count(rng: random.Random) -> int:
    # Heavy-tailed: most people have a few hundred followers, a few have a lot.
    return int(rng.paretovariate(1.2) * 80)


# --- the ingest storm ------------------------------------------------------------------------


# The recorded tweet every storm tweet is shaped from: a real status from tweepy's cassettes
# (MIT), as Account Activity wraps it, copied for the connector tests. X pushes the whole tweet
# with its author's profile, 2.7 KB compact, not the handful of fields Parley reads, and the
# intake hashes, parses and stores all of it.
RECORDED_STATUS = (
    Path(__file__).resolve().parent.parent
    / "tests/ingestion/payloads/samples/x-account-activity/tweet_create_status.json"
)


def storm_payloads(
    *,
    brand_id: str,
    count: int,
    per_delivery: int,
    seed: int = 7,
    id_base: int = 1_900_000_000_000_000_000,
) -> list[dict]:
    """`count` tweets mentioning the brand as Account Activity deliveries of `per_delivery`,
    each the recorded tweet's shape (RECORDED_STATUS) with its own id, time, text and author.

    A quarter of the authors write more than once, and a third of those later tweets answer
    the author's previous one, so threads, returning customers and new ones are mixed.
    """
    rng = random.Random(seed)
    authors = max(1, count * 3 // 4)
    last_tweet_of: dict[int, str] = {}
    start = datetime.now(UTC) - timedelta(minutes=5)
    recorded = json.dumps(json.loads(RECORDED_STATUS.read_text())["tweet_create_events"][0])
    tweets = []
    for index in range(count):
        author = rng.randrange(authors)
        tweet_id = str(id_base + index)
        parent = last_tweet_of.get(author) if rng.random() < 0.33 else None
        tweet = json.loads(recorded)
        user_id = str(3_000_000_000 + author)
        screen_name = f"storm_user_{author}"
        tweet.update(
            {
                "created_at": format_datetime(start + timedelta(milliseconds=index * 50)),
                "id": int(tweet_id),
                "id_str": tweet_id,
                "text": "@brand " + post_text(rng),
                "entities": {
                    "hashtags": [],
                    "symbols": [],
                    "user_mentions": [
                        {
                            "screen_name": "brand",
                            "name": "Brand",
                            "id": int(brand_id),
                            "id_str": brand_id,
                            "indices": [0, 6],
                        }
                    ],
                    "urls": [],
                },
                "in_reply_to_status_id": int(parent) if parent else None,
                "in_reply_to_status_id_str": parent,
                "in_reply_to_user_id": int(user_id) if parent else None,
                "in_reply_to_user_id_str": user_id if parent else None,
                "in_reply_to_screen_name": screen_name if parent else None,
                "retweet_count": 0,
                "favorite_count": 0,
            }
        )
        tweet["user"].update(
            {
                "id": int(user_id),
                "id_str": user_id,
                "screen_name": screen_name,
                "name": f"Storm User {author}",
                "followers_count": follower_count(rng),
                "verified": rng.random() < 0.01,
            }
        )
        tweets.append(tweet)
        last_tweet_of[author] = tweet_id
    return [
        {"for_user_id": brand_id, "tweet_create_events": tweets[start : start + per_delivery]}
        for start in range(0, count, per_delivery)
    ]


# --- the long history ------------------------------------------------------------------------

# Each conversation holds this many posts on average (inbound and the brand's replies).
POSTS_PER_CONVERSATION = 4
CONVERSATIONS_PER_CUSTOMER = 2
HISTORY_DAYS = 90
# The queue agents work is the same size whatever the history: that is what "flat" means.
ACTIVE_CONVERSATIONS = 500


@dataclass
class HistoryContext:
    account_id: int
    platform: str
    team_id: int
    agent_id: int
    intents: list[str]
    sentiments: list[str]


def _next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
        return cursor.fetchone()[0]


def _reset_sequence(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
        )


def _column_defaults(table: str, given: list[str]) -> list[tuple[str, object]]:
    """Each NOT NULL column the generator does not fill, with its model default, so a column
    added to a model later does not break the loader."""
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    defaults = []
    for field in model._meta.concrete_fields:
        # Generated columns (Conversation.waiting_since) and columns with a database default
        # (Customer.notes) are the database's to fill.
        if (
            field.column in given
            or field.null
            or field.primary_key
            or field.generated
            or field.has_db_default()
        ):
            continue
        value = field.get_default()
        if isinstance(field, models.JSONField):
            value = json.dumps(value)
        elif value is None and isinstance(field, models.DateTimeField):
            value = datetime.now(UTC)
        else:
            value = field.get_db_prep_save(value, connection)
        defaults.append((field.column, value))
    return defaults


def _copy(table: str, columns: list[str], rows: Iterator[tuple]) -> None:
    defaults = _column_defaults(table, columns)
    names = [*columns, *(column for column, _ in defaults)]
    extra = tuple(value for _, value in defaults)
    sql = f"COPY {table} ({', '.join(names)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row + extra)


def bulk_history(*, posts: int, context: HistoryContext, seed: int = 11, progress=True) -> None:
    """Append about `posts` posts of history (with their customers, conversations and SLA
    timers) and make the newest `ACTIVE_CONVERSATIONS` conversations the open queue."""
    rng = random.Random(seed + _next_id("helpdesk_post"))
    conversations = max(1, posts // POSTS_PER_CONVERSATION)
    customers = max(1, conversations // CONVERSATIONS_PER_CUSTOMER)
    now = datetime.now(UTC)
    first_customer = _next_id("helpdesk_customer")
    first_conversation = _next_id("helpdesk_conversation")
    first_post = _next_id("helpdesk_post")
    bar = tqdm(total=posts, unit="post", desc=f"loading {posts:,} posts", disable=not progress)

    _copy(
        "helpdesk_customer",
        ["id", "platform", "external_id", "handle", "display_name", "follower_count",
         "is_verified", "first_seen_at", "updated_at"],
        (
            (cid, context.platform, f"h{cid}", f"user_{cid}", f"User {cid}",
             follower_count(rng), rng.random() < 0.01, now, now)
            for cid in range(first_customer, first_customer + customers)
        ),
    )  # fmt: skip

    # Conversations get evenly spread start times over the history, oldest first; all are
    # resolved here and the newest are reopened below as the active queue.
    span = timedelta(days=HISTORY_DAYS).total_seconds()
    conversation_rows = []
    timer_rows = []
    post_rows = []
    post_id = first_post
    for offset in range(conversations):
        conversation_id = first_conversation + offset
        customer_id = first_customer + rng.randrange(customers)
        created = now - timedelta(seconds=span * (1 - offset / conversations) + 60)
        responded = created + timedelta(minutes=rng.randint(2, 240))
        resolved = responded + timedelta(minutes=rng.randint(5, 600))
        intent = rng.choice(context.intents)
        sentiment = rng.choice(context.sentiments)
        priority = rng.choice((0, 1, 1, 1, 2, 3))
        due = created + timedelta(minutes=60)
        conversation_rows.append(
            (conversation_id, customer_id, context.account_id, "resolved", context.team_id,
             context.agent_id, priority, intent, sentiment, True, created, resolved, created,
             due, responded, resolved)
        )  # fmt: skip
        for kind, target in (("first_response", 3600), ("resolution", 86400)):
            stop = responded if kind == "first_response" else resolved
            timer_rows.append(
                (conversation_id, kind, 1, "ok", target, 80, created, "[]",
                 created + timedelta(seconds=target * 0.8), created + timedelta(seconds=target),
                 stop, (stop - created).total_seconds(), 0, 0, now)
            )  # fmt: skip
        inbound = max(1, POSTS_PER_CONVERSATION - 1 + rng.choice((-1, 0, 0, 1)))
        # The customer's post after the brand's reply (the third) opens the turn still open,
        # as core.turns would find; stored now so rebuild_customer_turns has nothing to write.
        open_turn = created + timedelta(minutes=2 * 7) if inbound >= 2 else None
        conversation_rows[-1] += (open_turn,)
        for number in range(inbound + 1):
            outbound = number == 1  # the brand's reply comes after the first post
            at = created + timedelta(minutes=number * 7)
            post_rows.append(
                (post_id, conversation_id, context.account_id,
                 "outbound" if outbound else "inbound", context.platform, f"p{post_id}",
                 None if outbound else customer_id,
                 context.agent_id if outbound else None,
                 "Sorry about that, we're on it." if outbound else post_text(rng),
                 "", at, at, "{}", "sent" if outbound else "received", "", uuid.uuid4(),
                 "" if outbound else intent, "" if outbound else sentiment, priority,
                 None if outbound else 0.8, "[]")
            )  # fmt: skip
            post_id += 1
        if len(post_rows) >= 50_000:
            _flush(conversation_rows, timer_rows, post_rows)
            bar.update(len(post_rows))
            conversation_rows, timer_rows, post_rows = [], [], []
    _flush(conversation_rows, timer_rows, post_rows)
    bar.update(len(post_rows))
    bar.close()
    for table in ("helpdesk_customer", "helpdesk_conversation", "helpdesk_post", "sla_slatimer"):
        _reset_sequence(table)
    _reopen_newest(context)
    # COPY bypasses save(), which keeps the reports' customer turns; recompute them.
    from core.turns import rebuild_customer_turns

    rebuild_customer_turns()
    # VACUUM, not just ANALYZE: a table this size in service has been vacuumed by autovacuum,
    # and its visibility map is what lets the reports answer from their covering indexes.
    with connection.cursor() as cursor:
        for table in (
            # The customers too: their trigram indexes (the search) otherwise keep every
            # COPYed row in their pending list, which each search reads through.
            "helpdesk_customer",
            "helpdesk_conversation",
            "helpdesk_post",
            "sla_slatimer",
            "reports_customerturn",
            "reports_inboundhourly",
            "reports_conversationhourly",
            "reports_durationdaily",
            "reports_durationweekly",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _flush(conversation_rows, timer_rows, post_rows) -> None:
    _copy(
        "helpdesk_conversation",
        ["id", "customer_id", "account_id", "status", "team_id", "assignee_id", "priority",
         "intent", "sentiment", "needs_reply", "created_at", "updated_at", "last_inbound_at",
         "first_response_due_at", "first_response_at", "resolved_at", "open_turn_started_at"],
        iter(conversation_rows),
    )  # fmt: skip
    _copy(
        "sla_slatimer",
        ["conversation_id", "kind", "cycle", "state", "target_seconds", "at_risk_percent",
         "started_at", "pauses", "at_risk_at", "due_at", "stopped_at", "business_seconds",
         "at_risk_alerted_cycle", "breach_alerted_cycle", "updated_at"],
        iter(timer_rows),
    )  # fmt: skip
    _copy(
        "helpdesk_post",
        ["id", "conversation_id", "account_id", "direction", "platform", "external_id",
         "customer_id",
         "agent_id", "text", "in_reply_to", "created_at", "received_at", "raw",
         "delivery_status", "delivery_error", "idempotency_key", "intent", "sentiment",
         "priority", "triage_confidence", "triage_reasons"],
        iter(post_rows),
    )  # fmt: skip


def _reopen_newest(context: HistoryContext) -> None:
    """Keep exactly ACTIVE_CONVERSATIONS open: the newest, half of them still unanswered."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE helpdesk_conversation SET status = 'resolved' WHERE status <> 'resolved'"
        )
        cursor.execute(
            """
            WITH newest AS (
                SELECT id, row_number() OVER (ORDER BY created_at DESC) AS n
                FROM helpdesk_conversation ORDER BY created_at DESC LIMIT %s
            )
            UPDATE helpdesk_conversation c
            SET status = CASE WHEN newest.n %% 2 = 0 THEN 'open' ELSE 'new' END,
                resolved_at = NULL,
                first_response_at = CASE WHEN newest.n %% 2 = 0 THEN c.first_response_at END,
                assignee_id = CASE WHEN newest.n %% 2 = 0 THEN c.assignee_id END
            FROM newest WHERE c.id = newest.id
            """,
            [ACTIVE_CONVERSATIONS],
        )
        cursor.execute(
            """
            UPDATE sla_slatimer t SET stopped_at = NULL, business_seconds = 0
            FROM helpdesk_conversation c
            WHERE t.conversation_id = c.id AND c.status = 'new'
            """
        )
