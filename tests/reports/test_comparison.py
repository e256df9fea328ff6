"""Every KPI against the period before it, on the hand-built week (tests/reports/dataset.py)
whose answers are worked out on paper: Thu 5 to Sun 8 March against Sun 1 to Wed 4 March."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from reports.comparison import compare, compare_rows, previous_period
from reports.exports import summary_rows
from reports.selectors import ReportFilter, kpis

LATE_WEEK = ReportFilter(
    start=datetime(2026, 3, 5, tzinfo=UTC), end=datetime(2026, 3, 9, tzinfo=UTC)
)


def rows_by_metric(compared):
    return {row.metric: row for row in compared}


@pytest.mark.usefixtures("week")
def test_each_kpi_is_compared_with_the_same_length_just_before():
    before = previous_period(LATE_WEEK)
    compared = rows_by_metric(
        compare_rows(summary_rows(kpis(LATE_WEEK)), summary_rows(kpis(before)))
    )

    assert (before.start, before.end) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 5, tzinfo=UTC),
    )
    # Needing a reply: c5 and c6 now (c7 is spam); c1 to c4 before.
    conversations = compared["Conversations"]
    assert (conversations.value, conversations.previous) == ("2", "4")
    assert (conversations.change, conversations.verdict) == ("▼ 50 %", "")
    # Median first response: c5's 1200 s now; 60, 120, 180, 600 s before (150 s).
    first = compared["First response, median"]
    assert (first.value, first.previous) == ("20.0", "2.5")
    assert (first.change, first.verdict) == ("▲ 700 %", "worse")
    # Within target: c5's timer missed now; before, c1 to c3's were met (c4 has none).
    target = compared["First response within target"]
    assert (target.value, target.previous) == ("0.0", "100.0")
    assert (target.change, target.verdict) == ("▼ 100.0 pts", "worse")
    # Alice resolved c1 and c3 before, nothing now: nothing to compare.
    assert (
        compared.get("Handling time: alice") is None
        or compared["Handling time: alice"].change == ""
    )


def test_comparing_says_better_worse_or_same_by_the_metric():
    assert compare("CSAT average", "4.50", "of 5", "4.00").verdict == "better"
    assert compare("Next response, median", "4.0", "minutes", "5.0").verdict == "better"
    assert compare("Negative posts", "12", "count", "10").verdict == "worse"
    assert compare("Inbound posts", "12", "count", "10").verdict == ""
    assert compare("CSAT average", "4.50", "of 5", "4.50").change == "="
    assert compare("CSAT average", "4.50", "of 5", "").change == ""
    assert compare("Inbound posts", "3", "count", "0").change == "▲ 3"


def test_the_reports_page_shows_before_and_change_and_period_presets(client, week, supervisor):
    client.force_login(supervisor)

    html = client.get(reverse("dashboards:reports"), {"start": "2026-03-05", "end": "2026-03-08"})

    text = html.content.decode()
    row = re.search(r'<tr data-metric="Conversations">.*?</tr>', text).group(0)
    assert '<td class="previous">4</td>' in row and "▼ 50 %" in row
    first = re.search(r'<tr data-metric="First response, median">.*?</tr>', text).group(0)
    assert 'data-verdict="worse"' in first and "▲ 700 %" in first
    assert "compared with 1 Mar \u2013 4 Mar 2026" in text
    for label in ("Today", "Last 7 days", "Last 30 days", "This month"):
        assert f">{label}</a>" in text
    assert 'type="date"' in text


def test_a_day_written_the_ambiguous_way_is_refused(client, supervisor):
    client.force_login(supervisor)

    response = client.get(reverse("dashboards:reports"), {"start": "01/12/2026"})

    assert response.status_code == 400
    assert "Enter the day as YYYY-MM-DD" in response.content.decode()
