"""The hourly inbound roll-up reconciles exactly with the posts after a mixed day of work,
and the reports read from it say what they said from the posts.

Runs on SQLite and, with DATABASE_URL set, on PostgreSQL (each backend has its own triggers).
"""

import itertools
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.models import Count, Q
from django.db.models.functions import TruncHour

from core.models import (
    Conversation,
    ConversationStatus,
    CustomerTurn,
    Direction,
    Intent,
    Post,
    Sentiment,
)
from helpdesk.services import change_status, send_reply
from ingestion.connectors import InboundAuthor
from ingestion.services import ingest_item, ingest_items
from reports import durations, rollups, selectors
from reports.db import SecondsBetween
from reports.models import (
    ConversationHourly,
    DurationDaily,
    DurationMetric,
    DurationWeekly,
    InboundHourly,
)
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


def _us(duration: timedelta) -> int:
    return (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds


def histograms_from_rows() -> dict:
    """What the daily duration histograms must hold, from the conversations and customer
    turns themselves, in Python (exact microseconds): (day, metric, team, assignee, intent,
    bucket) -> (durations, microseconds past the bucket's lower bound)."""
    totals: dict = {}

    def add(day, metric, team, assignee, intent, duration):
        us = 0 if duration is None else _us(duration)
        bucket = durations.bucket_of(us // 1_000_000)
        key = (day, metric, team or 0, assignee or 0, intent, bucket)
        count, fraction = totals.get(key, (0, 0))
        totals[key] = (count + 1, fraction + us - bucket * 1_000_000)

    for c in Conversation.objects.all():
        day = c.created_at.astimezone(UTC).date()
        if c.needs_reply and c.first_response_at is not None:
            first = c.first_response_at - c.created_at
            add(day, DurationMetric.FIRST_RESPONSE, c.team_id, c.assignee_id, "", first)
        elif c.needs_reply:
            add(day, DurationMetric.FIRST_RESPONSE_PENDING, c.team_id, c.assignee_id, "", None)
        if c.resolved_at is not None:
            add(day, DurationMetric.RESOLUTION, 0, 0, c.intent, c.resolved_at - c.created_at)
    for turn in CustomerTurn.objects.all():
        day = turn.started_at.astimezone(UTC).date()
        if turn.answered_at is not None:
            add(day, DurationMetric.NEXT_RESPONSE, 0, 0, "", turn.answered_at - turn.started_at)
        else:
            add(day, DurationMetric.NEXT_RESPONSE_PENDING, 0, 0, "", None)
    return totals


def _summed_rows(model, period: str) -> dict:
    """A histogram table's rows summed over their slots, by period (`day` or `week`) and
    key; keys whose sums are all zero left out."""
    totals: dict = {}
    for row in model.objects.all():
        key = (
            getattr(row, period),
            row.metric,
            row.team_id,
            row.assignee_id,
            row.intent,
            row.seconds,
        )
        count, fraction = totals.get(key, (0, 0))
        totals[key] = (count + row.durations, fraction + row.fraction_us)
    return {key: values for key, values in totals.items() if any(values)}


def histograms_from_table() -> dict:
    return _summed_rows(DurationDaily, "day")


def weeks_from_table() -> dict:
    return _summed_rows(DurationWeekly, "week")


def weeks_from_rows() -> dict:
    """What the weekly histograms must hold: the rows' daily recount summed by Monday."""
    totals: dict = {}
    for (day, *rest), (count, fraction) in histograms_from_rows().items():
        key = (day - timedelta(days=day.weekday()), *rest)
        before = totals.get(key, (0, 0))
        totals[key] = (before[0] + count, before[1] + fraction)
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
    assert histograms_from_table() == histograms_from_rows()
    assert {key[1] for key in histograms_from_rows()} >= {
        DurationMetric.FIRST_RESPONSE,
        DurationMetric.RESOLUTION,
    }


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
    DurationDaily.objects.update(durations=999)

    call_command("reports_rebuild_rollups")

    assert from_rollup() == from_posts()
    assert conversations_from_rollup() == conversations_from_rows()
    assert histograms_from_table() == histograms_from_rows()
    assert "roll-up rows" in capsys.readouterr().out


def test_rebuild_since_a_day_keeps_older_hours(db, demo_account, agent):
    mixed_activity(demo_account, agent)
    old = InboundHourly.objects.filter(hour__lt=datetime.now(UTC) - timedelta(days=1))
    kept = sorted(old.values_list("hour", "posts"))

    # A conversation opened two days ago: its durations are counted on that day.
    answered = Conversation.objects.filter(first_response_at__isnull=False).first()
    Conversation.objects.filter(pk=answered.pk).update(
        created_at=answered.first_response_at - timedelta(days=2)
    )
    old_days = DurationDaily.objects.filter(day__lt=datetime.now(UTC).date())
    kept_days = sorted(old_days.values_list("day", "seconds", "durations"))

    call_command("reports_rebuild_rollups", since=(datetime.now(UTC).date()).isoformat())

    assert kept and sorted(old.values_list("hour", "posts")) == kept
    assert kept_days and sorted(old_days.values_list("day", "seconds", "durations")) == kept_days
    assert from_rollup() == from_posts()
    assert conversations_from_rollup() == conversations_from_rows()
    assert histograms_from_table() == histograms_from_rows()


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
    monkeypatch.setattr(selectors, "histograms_answer", lambda report: False)
    from_raw = {name: getattr(selectors, name)(report) for name in names}

    if connections["default"].vendor == "postgresql":
        assert from_rollups == from_raw
    else:
        # The raw durations on SQLite go through julianday (~10 µs of noise, enough to move
        # the third decimal); the histograms' are exact.
        assert _rounded(from_rollups) == _rounded(from_raw)
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
    assert histograms_from_table() == histograms_from_rows()
    assert weeks_from_table() == weeks_from_rows()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_truncating_the_posts_empties_the_rollups(demo_account, default_team):
    from django.db import connection

    ingest_item(account=demo_account, item=InboundItemFactory(author=author(1)))
    assert InboundHourly.objects.exists() and ConversationHourly.objects.exists()
    assert DurationDaily.objects.exists()

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE helpdesk_conversation, helpdesk_post CASCADE")

    assert not InboundHourly.objects.exists() and not ConversationHourly.objects.exists()
    assert not DurationDaily.objects.exists()
    assert not DurationWeekly.objects.exists()


def test_weekly_histograms_are_the_daily_ones_by_week(db, demo_account, agent, supervisor):
    """Kept from the daily rows by their triggers through everything that writes them: the
    mixed day, histories moved over several weeks, a partial rebuild, a rebuild that repairs
    them, deletes."""
    from tests.factories import AgentFactory

    mixed_activity(demo_account, agent)
    assert weeks_from_table() == weeks_from_rows()
    random_history(demo_account, [agent, AgentFactory(username="weekly-second")], seed=3)
    # Spread over three weeks, so several Mondays hold rows.
    for n, c in enumerate(Conversation.objects.order_by("pk")):
        Conversation.objects.filter(pk=c.pk).update(
            created_at=c.created_at - timedelta(days=7 * (n % 3)),
            first_response_at=c.first_response_at
            and c.first_response_at - timedelta(days=7 * (n % 3)),
            resolved_at=c.resolved_at and c.resolved_at - timedelta(days=7 * (n % 3)),
        )
    assert len({key[0] for key in weeks_from_rows()}) >= 3
    assert weeks_from_table() == weeks_from_rows()

    call_command("reports_rebuild_rollups", since=(BASE - timedelta(days=4)).date().isoformat())
    assert weeks_from_table() == weeks_from_rows()
    DurationWeekly.objects.update(durations=999)
    call_command("reports_rebuild_rollups")
    assert weeks_from_table() == weeks_from_rows()

    Conversation.objects.filter(
        pk__in=Conversation.objects.order_by("pk")[:5].values("pk")
    ).delete()
    assert weeks_from_table() == weeks_from_rows()
    assert histograms_from_table() == histograms_from_rows()


# --- the daily duration histograms: random histories, percentiles equal to the rows' ----------

BASE = datetime(2026, 3, 10, tzinfo=UTC)


def _some_duration(rng: random.Random) -> timedelta:
    """Whole seconds shared by many (a second of exact values), or any microsecond (a second
    read from its rows)."""
    if rng.random() < 0.5:
        return timedelta(seconds=rng.choice((60, 120, 600, 3600)))
    return timedelta(seconds=rng.randrange(7200), microseconds=rng.randrange(1_000_000))


def random_history(account, agents, seed: int) -> None:
    """Conversations through the real services (ingest, replies, resolutions, reopens), then
    moved over five days with random durations, some resolved and reopened again."""
    rng = random.Random(seed)
    ingest_items(
        account=account,
        items=[
            InboundItemFactory(author=author(1000 + n), text=f"@brand order {n} is late")
            for n in range(40)
        ],
    )
    for c in Conversation.objects.order_by("pk"):
        roll = rng.random()
        if roll < 0.75:
            send_reply(conversation_id=c.pk, agent=rng.choice(agents), text="On it.")
        if roll < 0.5:
            change_status(conversation_id=c.pk, status=ConversationStatus.RESOLVED)
        if roll < 0.1:
            change_status(conversation_id=c.pk, status=ConversationStatus.OPEN)
    # Customers writing again after the reply open turns (the next-response KPI's unit), and
    # some are answered.
    ingest_items(
        account=account,
        items=[
            InboundItemFactory(author=author(1000 + n), text=f"@brand and order {n}?")
            for n in range(0, 40, 2)
        ],
    )
    for turn in CustomerTurn.objects.filter(answered_at__isnull=True).order_by("pk")[::2]:
        send_reply(conversation_id=turn.conversation_id, agent=agents[0], text="Checking.")
    for c in Conversation.objects.order_by("pk"):
        created = BASE + timedelta(
            seconds=rng.randrange(5 * 86_400), microseconds=rng.choice((0, rng.randrange(10**6)))
        )
        fields = {
            "created_at": created,
            "assignee_id": rng.choice([None, *(a.pk for a in agents)]),
            "intent": rng.choice([Intent.COMPLAINT, Intent.QUESTION, ""]),
        }
        if c.first_response_at is not None:
            fields["first_response_at"] = created + _some_duration(rng)
        if c.resolved_at is not None:
            fields["resolved_at"] = created + _some_duration(rng) + timedelta(hours=2)
        Conversation.objects.filter(pk=c.pk).update(**fields)
        for turn in CustomerTurn.objects.filter(conversation=c):
            started = created + timedelta(seconds=rng.randrange(600))
            answered = started + _some_duration(rng) if rng.random() < 0.7 else None
            CustomerTurn.objects.filter(pk=turn.pk).update(started_at=started, answered_at=answered)
    # A reassignment and a re-triage after the fact move their durations between groups.
    moved = Conversation.objects.filter(first_response_at__isnull=False).order_by("pk")[:3]
    Conversation.objects.filter(pk__in=[c.pk for c in moved]).update(
        assignee_id=agents[0].pk, intent=Intent.COMPLIMENT
    )


def exact_percentiles(durations: list[timedelta], fractions) -> dict:
    """percentile_cont of exact durations, in Python, rounded as the reports round."""
    values = sorted(Decimal(_us(d)) / 1_000_000 for d in durations)
    result = {}
    for fraction in fractions:
        if not values:
            result[fraction] = None
            continue
        position = Decimal(repr(fraction)) * (len(values) - 1)
        low = int(position)
        high = min(low + 1, len(values) - 1)
        exact = values[low] + (values[high] - values[low]) * (position - low)
        result[fraction] = round(float(exact), 3)
    return result


PERIODS = {
    "whole UTC days": (BASE - timedelta(days=1), BASE + timedelta(days=6)),
    "edges of partial days": (
        BASE + timedelta(hours=7, minutes=13),
        BASE + timedelta(days=3, hours=5),
    ),
    "within one day": (BASE + timedelta(days=1, hours=2), BASE + timedelta(days=1, hours=20)),
}


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("seed", [1, 2])
def test_histogram_percentiles_equal_the_rows(
    db, demo_account, agent, supervisor, default_team, monkeypatch, period, seed
):
    from tests.factories import AgentFactory

    agents = [agent, AgentFactory(teams=[default_team], username=f"second-{seed}")]
    random_history(demo_account, agents, seed)
    assert histograms_from_table() == histograms_from_rows()
    start, end = PERIODS[period]
    report = ReportFilter(start=start, end=end, user=supervisor)
    assert durations.histograms_answer(report)

    # Against Python's exact computation from the rows.
    created = Conversation.objects.filter(created_at__gte=start, created_at__lt=end)
    answered = created.filter(needs_reply=True, first_response_at__isnull=False)
    first = selectors.first_response(report)
    assert first["answered"] == answered.count() > 0
    assert first["conversations"] == created.filter(needs_reply=True).count()
    expected = exact_percentiles(
        [c.first_response_at - c.created_at for c in answered], [selectors.MEDIAN, selectors.P90]
    )
    assert (first["median_seconds"], first["p90_seconds"]) == (
        expected[selectors.MEDIAN],
        expected[selectors.P90],
    )
    for row in selectors.resolution_by_intent(report):
        resolved = created.filter(resolved_at__isnull=False, intent=row["intent"])
        expected = exact_percentiles(
            [c.resolved_at - c.created_at for c in resolved], [selectors.MEDIAN, selectors.P90]
        )
        assert row["resolved"] == resolved.count()
        assert (row["median_seconds"], row["p90_seconds"]) == (
            expected[selectors.MEDIAN],
            expected[selectors.P90],
        )
    turns = CustomerTurn.objects.filter(started_at__gte=start, started_at__lt=end)
    expected = exact_percentiles(
        [t.answered_at - t.started_at for t in turns if t.answered_at], [selectors.MEDIAN]
    )
    next_response = selectors.next_response(report)
    assert next_response["customer_turns"] == turns.count()
    assert next_response["median_seconds"] == expected[selectors.MEDIAN] is not None

    # And against the raw selectors (percentile_cont on PostgreSQL; julianday on SQLite,
    # whose ~10 µs of noise can move the third decimal).
    names = ["first_response", "next_response", "resolution_by_intent", "by_agent", "by_team"]
    from_histograms = {name: getattr(selectors, name)(report) for name in names}
    monkeypatch.setattr(selectors, "histograms_answer", lambda report: False)
    from_raw = {name: getattr(selectors, name)(report) for name in names}
    if connections["default"].vendor == "postgresql":
        assert from_histograms == from_raw
    else:
        assert _rounded(from_histograms) == _rounded(from_raw)


def _rounded(value):
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


# --- bucket edges ------------------------------------------------------------------------------


def test_buckets_are_whole_seconds_then_sixteen_per_doubling():
    assert [durations.bucket_of(s) for s in (0, 1, 31)] == [0, 1, 31]
    # From 32 s on, 16 buckets per doubling: 32, 34, 36 ... 62, then 64, 68 ...
    assert [durations.bucket_of(s) for s in (32, 33, 34, 63, 64, 67, 68)] == [
        32, 32, 34, 62, 64, 64, 68,
    ]  # fmt: skip
    assert durations.bucket_of(3600) == 3584 and durations.bucket_of(3583) == 3456
    bounds = sorted({durations.bucket_of(s) for s in range(100_000)})
    assert all(durations.bucket_of(b) == b for b in bounds)
    # Each bucket is at most 1/16 of its lower bound wide: a day of a group's durations is a
    # few dozen buckets whatever their number.
    widths = [(low, high - low) for low, high in itertools.pairwise(bounds)]
    assert all(width <= max(1, low // 16) for low, width in widths)
    assert len([b for b in bounds if 420 <= b < 50_400]) < 120


def test_database_buckets_equal_python(db):
    """The database's buckets (PostgreSQL's function, SQLite's ladder) are bucket_of's, on
    both sides of every doubling up to the last one and beyond."""
    values = sorted(
        {
            0,
            1,
            31,
            100_000,
            *(d + 2**bits for bits in range(5, 45) for d in (-1, 0, 1, 2**bits // 3)),
        }
    )
    vendor = connections["default"].vendor
    if vendor == "postgresql":
        bucket = f"{durations.BUCKET_FUNCTION}(%s::bigint)"
    else:
        bucket = durations.bucket_ladder_sql("CAST(%s AS INTEGER)")
    with connections["default"].cursor() as cursor:
        found = []
        for value in values:
            cursor.execute(f"SELECT {bucket}", [value] * bucket.count("%s"))
            found.append(cursor.fetchone()[0])
    assert found == [durations.bucket_of(value) for value in values]


def _edge_durations() -> list[timedelta]:
    """Durations on both sides of bucket bounds, each bound with and without microseconds."""
    found = []
    for bound in (31, 32, 34, 62, 64, 2**12, 2**16, 3 * 2**15, 2**20):
        for seconds, micro in ((bound - 1, 999_999), (bound, 0), (bound, 1), (bound, 0)):
            found.append(timedelta(seconds=seconds, microseconds=micro))
    return found


@pytest.mark.parametrize("intent_count", [1, 3])
def test_percentiles_exact_across_bucket_edges(
    db, demo_account, agent, supervisor, monkeypatch, intent_count
):
    """Resolutions just below, on and just above bucket bounds: the histograms hold what
    Python counts, and every percentile is the rows' exact one (a bucket whose durations
    all sit on its lower bound is read from the counts, any other from its rows)."""
    edges = _edge_durations()
    ingest_items(
        account=demo_account,
        items=[
            InboundItemFactory(author=author(3000 + n), text=f"@brand parcel {n} lost")
            for n in range(len(edges))
        ],
    )
    intents = [Intent.COMPLAINT, Intent.QUESTION, Intent.FEEDBACK][:intent_count]
    for n, c in enumerate(Conversation.objects.order_by("pk")):
        change_status(conversation_id=c.pk, status=ConversationStatus.RESOLVED)
        created = BASE + timedelta(hours=n % 20, microseconds=n * 7919 % 1_000_000)
        Conversation.objects.filter(pk=c.pk).update(
            created_at=created, resolved_at=created + edges[n], intent=intents[n % intent_count]
        )
    assert histograms_from_table() == histograms_from_rows()
    resolution = {key[5] for key in histograms_from_rows() if key[1] == DurationMetric.RESOLUTION}
    assert {32, 34, 62, 64, 4096, 65536, 98304} <= resolution

    fractions = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    for period in (
        (BASE, BASE + timedelta(days=2)),
        (BASE + timedelta(hours=3), BASE + timedelta(days=1)),
    ):
        report = ReportFilter(start=period[0], end=period[1], user=supervisor)
        assert durations.histograms_answer(report)
        found = durations.duration_percentiles(
            DurationMetric.RESOLUTION, report, fractions, group="intent"
        )
        resolved = Conversation.objects.filter(created_at__gte=period[0], created_at__lt=period[1])
        assert set(found) == set(intents)
        for intent in intents:
            rows = resolved.filter(intent=intent)
            expected = exact_percentiles([c.resolved_at - c.created_at for c in rows], fractions)
            assert found[intent] == {"n": rows.count(), **expected}
        from_histograms = selectors.resolution_by_intent(report)
        with monkeypatch.context() as patched:
            patched.setattr(selectors, "histograms_answer", lambda report: False)
            from_raw = selectors.resolution_by_intent(report)
        if connections["default"].vendor == "postgresql":
            assert from_histograms == from_raw
        else:
            assert _rounded(from_histograms) == _rounded(from_raw)
