"""The hourly inbound roll-up reconciles exactly with the posts after a mixed day of work,
and the reports read from it say what they said from the posts.

Runs on SQLite and, with DATABASE_URL set, on PostgreSQL (each backend has its own triggers).
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.models import Count, Q
from django.db.models.functions import TruncHour

from core.models import Conversation, ConversationStatus, Direction, Post, Sentiment
from helpdesk.services import change_status, send_reply
from ingestion.connectors import InboundAuthor
from ingestion.services import ingest_item, ingest_items
from reports import rollups, selectors
from reports.db import SecondsBetween
from reports.models import ConversationHourly, InboundHourly
from reports.selectors import ReportFilter
from sla.models import SlaTimer, TimerKind, TimerState
from sla.services import sweep_timers
from tests.factories import InboundItemFactory
from triage.services import record_feedback

MOODS = {
    "positive": Q(sentiment=Sentiment.POSITIVE),
    "neutral": Q(sentiment=Sentiment.NEUTRAL),
    "negative": Q(sentiment=Sentiment.NEGATIVE),
    "untriaged": ~Q(sentiment__in=[Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE]),
}


def from_posts() -> dict:
    """What the roll-up must hold, counted from the posts themselves."""
    rows = (
        Post.objects.filter(direction=Direction.INBOUND)
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("hour", "account_id", "platform")
        .annotate(posts=Count("pk"), **{m: Count("pk", filter=q) for m, q in MOODS.items()})
        .order_by()
    )
    return {
        (row["hour"], row["account_id"] or 0, row["platform"]): tuple(
            row[f] for f in rollups.FIGURES
        )
        for row in rows
    }


def from_rollup() -> dict:
    totals: dict = {}
    for row in InboundHourly.objects.all():
        key = (row.hour.astimezone(UTC), row.account_id, row.platform)
        figures = tuple(getattr(row, f) for f in rollups.FIGURES)
        totals[key] = tuple(a + b for a, b in zip(totals.get(key, (0,) * 5), figures, strict=True))
    return {key: figures for key, figures in totals.items() if any(figures)}


def conversations_from_rows() -> dict:
    """The conversation roll-up's figures counted from the conversations themselves."""
    totals: dict = {}
    # Durations as the reports compute them (julianday on SQLite, to the millisecond).
    seconds = SecondsBetween("resolved_at", "first_response_at")
    for c in Conversation.objects.annotate(handling=seconds):
        key = (
            c.created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0),
            c.account_id,
            c.team_id or 0,
            c.assignee_id or 0,
            c.intent,
        )
        handled = c.resolved_at is not None and c.first_response_at is not None
        # The SLA figures from the timers themselves, not from the conversation's copy.
        timer = SlaTimer.objects.filter(
            conversation=c, kind=TimerKind.FIRST_RESPONSE, stopped_at__isnull=False
        ).first()
        figures = (
            1,
            int(not c.needs_reply or c.intent == "spam"),
            int(c.resolved_at is not None),
            int(handled),
            round(c.handling * 1e6) if handled else 0,
            int(c.needs_reply and timer is not None),
            int(c.needs_reply and timer is not None and timer.state == TimerState.MET),
        )
        totals[key] = tuple(a + b for a, b in zip(totals.get(key, (0,) * 7), figures, strict=True))
    return totals


def conversations_from_rollup() -> dict:
    totals: dict = {}
    for row in ConversationHourly.objects.all():
        key = (row.hour.astimezone(UTC), row.account_id, row.team_id, row.assignee_id, row.intent)
        values = tuple(getattr(row, f) for f in rollups.CONVERSATION_FIGURES)
        totals[key] = tuple(a + b for a, b in zip(totals.get(key, (0,) * 7), values, strict=True))
    return {key: values for key, values in totals.items() if any(values)}


def author(n: int) -> InboundAuthor:
    return InboundAuthor(external_id=f"rollup-{n}", handle=f"customer{n}")


def mixed_activity(account, agent) -> None:
    """A day of work: posts over several hours (a batch and single ones, a thread), replies,
    a resolution and a reopen, a breach, corrections of sentiment, a post re-dated, and a
    conversation and a post deleted."""
    now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    items = [
        InboundItemFactory(
            author=author(n % 4), text=text, created_at=now - timedelta(hours=n, minutes=n)
        )
        for n, text in enumerate(
            [
                "@brand my order never arrived, this is awful",
                "@brand thanks, great service!",
                "@brand how do I change my address?",
                "@brand still waiting, terrible",
                "@brand love the new app",
                "@brand where is my refund?",
            ]
        )
    ]
    ingest_items(account=account, items=items)
    ingest_item(account=account, item=InboundItemFactory(author=author(9), created_at=now))
    conversations = list(Conversation.objects.order_by("pk"))
    first = Post.objects.filter(conversation=conversations[0]).order_by("pk").first()
    send_reply(conversation_id=conversations[0].pk, agent=agent, text="We're on it.")
    change_status(conversation_id=conversations[0].pk, status=ConversationStatus.RESOLVED)
    change_status(conversation_id=conversations[0].pk, status=ConversationStatus.OPEN)
    send_reply(conversation_id=conversations[2].pk, agent=agent, text="Done, anything else?")
    change_status(conversation_id=conversations[2].pk, status=ConversationStatus.RESOLVED)
    sweep_timers(now=now + timedelta(days=3))
    record_feedback(post_id=first.pk, field="sentiment", label="positive", agent=agent)
    record_feedback(post_id=first.pk, field="sentiment", label="neutral", agent=agent)
    record_feedback(post_id=first.pk, field="intent", label="question", agent=agent)
    Post.objects.filter(pk=first.pk).update(created_at=now - timedelta(days=2))
    Post.objects.filter(direction=Direction.INBOUND, sentiment=Sentiment.NEGATIVE).update(
        sentiment=""
    )
    Post.objects.filter(conversation=conversations[-1], direction=Direction.INBOUND).last().delete()
    conversations[1].delete()


def test_rollup_reconciles_with_posts_after_mixed_activity(db, demo_account, agent):
    mixed_activity(demo_account, agent)

    expected = from_posts()
    assert sum(figures[0] for figures in expected.values()) > 3
    assert from_rollup() == expected
    assert conversations_from_rollup() == conversations_from_rows()
    assert sum(figures[2] for figures in conversations_from_rows().values()) >= 1
    # First responses on the clock were counted: the replied ones, and the one met.
    assert sum(figures[5] for figures in conversations_from_rows().values()) >= 1


def test_each_conversation_keeps_its_first_response_timer_outcome(db, demo_account, agent):
    mixed_activity(demo_account, agent)
    for c in Conversation.objects.all():
        timer = SlaTimer.objects.filter(conversation=c, kind=TimerKind.FIRST_RESPONSE).first()
        expected = timer.state if timer is not None and timer.stopped_at else None
        assert c.first_response_sla == expected, c.pk

    # A stopped timer restarted (a new cycle) is no longer measured; deleted, neither.
    conversation = Conversation.objects.filter(first_response_sla__isnull=False).first()
    timer = SlaTimer.objects.get(conversation=conversation, kind=TimerKind.FIRST_RESPONSE)
    SlaTimer.objects.filter(pk=timer.pk).update(stopped_at=None, state=TimerState.OK)
    conversation.refresh_from_db()
    assert conversation.first_response_sla is None
    assert conversations_from_rollup() == conversations_from_rows()
    SlaTimer.objects.filter(pk=timer.pk).update(stopped_at=datetime.now(UTC), state="breached")
    conversation.refresh_from_db()
    assert conversation.first_response_sla == "breached"
    assert conversations_from_rollup() == conversations_from_rows()
    # A save() of the conversation held in memory does not write back a stale copy.
    stale = Conversation.objects.get(pk=conversation.pk)
    SlaTimer.objects.filter(pk=timer.pk).update(state=TimerState.MET)
    stale.save()
    conversation.refresh_from_db()
    assert conversation.first_response_sla == TimerState.MET
    SlaTimer.objects.filter(pk=timer.pk).delete()
    conversation.refresh_from_db()
    assert conversation.first_response_sla is None
    assert conversations_from_rollup() == conversations_from_rows()


def test_rebuild_recomputes_the_same_rollup(db, demo_account, agent, capsys):
    mixed_activity(demo_account, agent)
    InboundHourly.objects.update(posts=999)
    ConversationHourly.objects.update(conversations=999)

    call_command("reports_rebuild_rollups")

    assert from_rollup() == from_posts()
    assert conversations_from_rollup() == conversations_from_rows()
    assert "roll-up rows" in capsys.readouterr().out


def test_rebuild_since_a_day_keeps_older_hours(db, demo_account, agent):
    mixed_activity(demo_account, agent)
    old = InboundHourly.objects.filter(hour__lt=datetime.now(UTC) - timedelta(days=1))
    kept = sorted(old.values_list("hour", "posts"))

    call_command("reports_rebuild_rollups", since=(datetime.now(UTC).date()).isoformat())

    assert kept and sorted(old.values_list("hour", "posts")) == kept
    assert from_rollup() == from_posts()
    assert conversations_from_rollup() == conversations_from_rows()


def test_rebuild_refuses_a_bad_date(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("reports_rebuild_rollups", since="12/01/2026")


def test_reports_read_from_the_rollup_say_what_the_posts_say(
    db, demo_account, agent, supervisor, monkeypatch
):
    mixed_activity(demo_account, agent)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    report = ReportFilter(start=today - timedelta(days=3), end=today + timedelta(days=1))
    report = ReportFilter(**{**report.__dict__, "user": supervisor})
    assert rollups.rollup_answers(report)
    names = [
        "volume_by_channel",
        "sentiment_trend",
        "heatmap",
        "auto_responses",
        "no_reply_share",
        "handling_time",
        "by_agent",
        "by_team",
        "kpis",
    ]
    from_rollups = {name: getattr(selectors, name)(report) for name in names}

    monkeypatch.setattr(selectors, "inbound_hours", lambda report: None)
    monkeypatch.setattr(selectors, "conversation_hours", lambda report, group=None: None)
    from_raw = {name: getattr(selectors, name)(report) for name in names}

    assert from_rollups == from_raw
    assert from_rollups["volume_by_channel"]["total"] > 3
    assert from_rollups["handling_time"]["conversations"] >= 1


def test_team_slice_and_partial_hours_read_the_posts(db, supervisor, default_team):
    whole = datetime(2026, 3, 2, tzinfo=UTC)

    assert not rollups.rollup_answers(
        ReportFilter(start=whole, end=whole + timedelta(days=1), team_id=default_team.pk)
    )
    assert not rollups.rollup_answers(
        ReportFilter(start=whole + timedelta(minutes=5), end=whole + timedelta(days=1))
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_lose_no_increment(demo_account, default_team):
    """Eight workers ingest into the same hour and account at once: every post is counted."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    workers, batches, per_batch = 8, 3, 10
    barrier = threading.Barrier(workers)

    def work(worker: int) -> None:
        try:
            barrier.wait(timeout=10)
            for batch in range(batches):
                ingest_items(
                    account=demo_account,
                    items=[
                        InboundItemFactory(
                            author=author(worker * 100 + batch * 10 + n),
                            created_at=hour + timedelta(seconds=n),
                        )
                        for n in range(per_batch)
                    ],
                )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, range(workers)))

    assert from_rollup() == from_posts()
    assert sum(figures[0] for figures in from_rollup().values()) == workers * batches * per_batch


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_truncating_the_posts_empties_the_rollups(demo_account, default_team):
    from django.db import connection

    ingest_item(account=demo_account, item=InboundItemFactory(author=author(1)))
    assert InboundHourly.objects.exists() and ConversationHourly.objects.exists()

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE helpdesk_conversation, helpdesk_post CASCADE")

    assert not InboundHourly.objects.exists() and not ConversationHourly.objects.exists()
