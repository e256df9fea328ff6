"""`seed_demo --history-days N`: weeks of history so every report has something to show."""

import io
from datetime import date, datetime, timedelta

from django.core.management import call_command
from django.utils import timezone

from core.models import ACTIVE_STATUSES, Conversation
from reports.demo_history import seed_history
from reports.models import SpikeAlert
from reports.selectors import ReportFilter, kpis
from sla.models import SlaTimer, TimerState


def test_history_gives_every_report_several_points_and_is_written_once(db):
    call_command("seed_demo", "--history-days", "14", stdout=io.StringIO())
    now = timezone.now()

    numbers = kpis(ReportFilter(start=now - timedelta(days=14), end=now))

    days = numbers["sentiment"]["days"]
    assert len(days) >= 13 and all(sum(day[k] for k in day if k != "day") for day in days)
    assert len(numbers["volume"]["platforms"]) == 3
    assert len(numbers["handling_time"]["by_agent"]) >= 4
    assert len(numbers["resolution_by_intent"]) >= 5
    assert 0.5 < numbers["first_response"]["within_target"] < 1  # met and missed
    assert numbers["next_response"]["customer_turns"] > 0
    assert numbers["csat"]["responses"] > 0
    assert SlaTimer.objects.filter(state=TimerState.BREACHED).exists()
    assert SpikeAlert.objects.count() == 1
    # Nothing of the history lands in today's inbox.
    assert not Conversation.objects.filter(status__in=ACTIVE_STATUSES).exists()

    conversations = Conversation.objects.count()
    call_command("seed_demo", "--history-days", "14", stdout=io.StringIO())
    assert Conversation.objects.count() == conversations


def test_seeded_history_is_in_the_rollups_the_reports_read(db):
    from tests.reports.test_rollups import (
        conversations_from_rollup,
        conversations_from_rows,
        from_posts,
        from_rollup,
    )

    call_command("seed_demo", "--history-days", "7", stdout=io.StringIO())
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)

    numbers = kpis(ReportFilter(start=today - timedelta(days=7), end=today + timedelta(days=1)))

    assert from_rollup() == from_posts()
    assert conversations_from_rollup() == conversations_from_rows()
    assert numbers["volume"]["total"] == sum(figures[0] for figures in from_posts().values())


def test_history_seeded_in_the_first_hour_of_a_day_covers_the_days_before_it(db):
    # Half past midnight: the hour before is yesterday's last, which must not shift the days.
    now = timezone.make_aware(datetime(2026, 3, 10, 0, 30))

    seed_history(days=7, now=now)

    days = list(Conversation.objects.dates("created_at", "day"))
    assert days[0] == date(2026, 3, 3)
    assert days[-1] == date(2026, 3, 9)
    assert len(days) == 7
