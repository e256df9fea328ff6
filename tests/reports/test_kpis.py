"""Each KPI on the hand-built week of tests/reports/dataset.py, whose answers are worked out
there by hand. The same tests run on SQLite (portable percentiles) and on Postgres
(percentile_cont)."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Intent, Platform
from reports import selectors
from reports.forms import ReportFilterForm
from tests.reports.dataset import PERIOD


def report(user, **filters):
    form = ReportFilterForm({**PERIOD, **filters})
    assert form.is_valid(), form.errors
    return form.report_filter(user)


def test_first_response_median_p90_and_share_within_target(week, supervisor):
    result = selectors.first_response(report(supervisor))

    # Six conversations owed a reply, five got one: 60, 120, 180, 600, 1200 seconds.
    assert result["conversations"] == 6
    assert result["answered"] == 5
    assert result["median_seconds"] == 180
    # p90 interpolates between the 4th and 5th values: 600 + 0.6 * (1200 - 600).
    assert result["p90_seconds"] == 960
    # Four stopped first-response timers, three met.
    assert result["within_target"] == 0.75


def test_next_response_counts_each_customer_turn_once(week, supervisor):
    result = selectors.next_response(report(supervisor))

    # c1's turn (09:10 and 09:12, answered 09:15: 300 s), c2's unanswered one, c3's (120 s).
    assert result["customer_turns"] == 3
    assert result["answered"] == 2
    assert result["median_seconds"] == 210
    assert result["p90_seconds"] == 282


def test_resolution_time_by_intent(week, supervisor):
    rows = {row["intent"]: row for row in selectors.resolution_by_intent(report(supervisor))}

    assert set(rows) == {Intent.COMPLAINT, Intent.QUESTION}
    assert rows[Intent.COMPLAINT]["resolved"] == 2
    assert rows[Intent.COMPLAINT]["median_seconds"] == 5400
    assert rows[Intent.COMPLAINT]["p90_seconds"] == 6840
    assert rows[Intent.QUESTION]["median_seconds"] == 1800


def test_average_handling_time_overall_and_by_agent(week, supervisor):
    result = selectors.handling_time(report(supervisor))

    # First reply to resolution: c1 3540 s (alice), c2 7080 s (bob), c3 1620 s (alice).
    assert result["conversations"] == 3
    assert result["average_seconds"] == 4080
    by_agent = {row["agent"]: row["average_seconds"] for row in result["by_agent"]}
    assert by_agent == {"alice": 2580, "bob": 7080}


def test_volume_by_channel_and_share_per_platform(week, supervisor):
    result = selectors.volume_by_channel(report(supervisor))

    assert result["total"] == 11
    platforms = {row["platform"]: (row["posts"], row["share"]) for row in result["platforms"]}
    assert platforms == {Platform.DEMO: (10, 0.9091), Platform.TWITTER: (1, 0.0909)}


def test_heatmap_counts_posts_per_weekday_and_hour(week, supervisor):
    cells = selectors.heatmap(report(supervisor))["cells"]

    expected = {(0, 9): 3, (0, 10): 2, (1, 9): 2, (2, 14): 1, (5, 22): 1, (6, 8): 2}
    actual = {
        (day, hour): count
        for day, hours in enumerate(cells)
        for hour, count in enumerate(hours)
        if count
    }
    assert actual == expected


def test_sentiment_trend_and_positive_negative_ratio(week, supervisor):
    result = selectors.sentiment_trend(report(supervisor))

    assert result["negative"] == 3
    assert result["positive"] == 2
    assert result["positive_to_negative"] == 0.667
    monday = result["days"][0]
    assert (monday["day"], monday["negative"], monday["untriaged"]) == ("2026-03-02", 3, 2)


def test_share_of_conversations_needing_no_reply(week, supervisor):
    assert selectors.no_reply_share(report(supervisor)) == {
        "conversations": 7,
        "no_reply_needed": 1,
        "share": 0.1429,
    }


def test_csat_response_rate_average_and_satisfied_share(week, supervisor):
    assert selectors.csat(report(supervisor)) == {
        "surveys_sent": 3,
        "responses": 2,
        "response_rate": 0.6667,
        "average_score": 3.5,
        "satisfied_share": 0.5,
    }


def test_auto_response_rate_and_its_correction_rate(week, supervisor):
    assert selectors.auto_responses(report(supervisor)) == {
        "inbound_posts": 11,
        "auto_replied": 2,
        "corrected": 1,  # c4's; c2's verdict agreed with the model
        "rate": 0.1818,
        "correction_rate": 0.5,
    }


def test_filters_narrow_every_kpi(week, supervisor):
    on_x = report(supervisor, platform=Platform.TWITTER)
    assert selectors.first_response(on_x)["median_seconds"] == 1200
    assert selectors.volume_by_channel(on_x)["total"] == 1

    alice = report(supervisor, agent=week.alice.pk)
    assert selectors.handling_time(alice)["average_seconds"] == 2580

    complaints = report(supervisor, intent=Intent.COMPLAINT)
    assert selectors.first_response(complaints)["median_seconds"] == 90


def test_period_excludes_what_happened_outside_it(week, supervisor):
    only_monday = report(supervisor, start="2026-03-02", end="2026-03-02")

    assert selectors.first_response(only_monday)["conversations"] == 2
    assert selectors.volume_by_channel(only_monday)["total"] == 5


def test_a_team_supervisor_sees_only_their_teams_numbers(week):
    from tests.factories import AgentFactory, TeamFactory
    from tests.reports.conftest import grant

    team = TeamFactory()
    week.conversations["c4"].team = team
    week.conversations["c4"].save(update_fields=["team"])
    lead = AgentFactory(teams=[team])
    grant(lead, "receive_team_alerts")

    result = selectors.first_response(report(lead))

    assert (result["conversations"], result["median_seconds"]) == (1, 600)


def test_empty_period_gives_no_numbers_rather_than_zeros(supervisor):
    result = selectors.first_response(report(supervisor))

    assert result["median_seconds"] is None
    assert result["within_target"] is None


@pytest.mark.postgres
def test_postgres_computes_sliced_percentiles_with_percentile_cont(week, supervisor):
    # A slice the daily histograms do not key on reads the conversations themselves.
    with CaptureQueriesContext(connection) as queries:
        selectors.first_response(report(supervisor, platform="twitter"))

    assert any("percentile_cont" in query["sql"] for query in queries.captured_queries)


def test_unsliced_percentiles_come_from_the_daily_histograms(week, supervisor):
    with CaptureQueriesContext(connection) as queries:
        result = selectors.first_response(report(supervisor))

    assert (result["median_seconds"], result["p90_seconds"]) == (180, 960)
    read = " ".join(query["sql"] for query in queries.captured_queries)
    # The period is one whole ISO week: its weekly histogram row set (reports 0017).
    assert "reports_durationweekly" in read
    assert "percentile_cont" not in read


def test_invalid_period_is_refused_with_a_message():
    form = ReportFilterForm({"start": "2026-03-08", "end": "2026-03-02"})

    assert not form.is_valid()
    assert "The period starts after it ends." in form.error_text()


def test_period_covers_whole_days_with_the_end_day_included(supervisor):
    filtered = report(supervisor, start="2026-03-02", end="2026-03-02")

    assert (filtered.start.day, filtered.end.day) == (2, 3)
    assert isinstance(filtered.end, datetime)


def test_dates_outside_any_history_are_refused_not_overflowed():
    form = ReportFilterForm({"end": "9999-12-31"})

    assert not form.is_valid()
    assert "Choose days between 1970-01-01 and 9000-12-31." in form.error_text()
