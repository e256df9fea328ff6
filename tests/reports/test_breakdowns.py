"""Reports per agent and per team on the hand-built week (tests/reports/dataset.py), whose
answers are worked out on paper; the same on SQLite and PostgreSQL."""

import pytest
from django.urls import reverse

from core.models import Team
from reports.selectors import ReportFilter, by_agent, by_team
from tests.reports.dataset import MONDAY

WEEK = ReportFilter(start=MONDAY, end=MONDAY.replace(day=9))


@pytest.mark.usefixtures("week")
def test_per_agent_first_response_handling_resolved_sla_and_csat(django_assert_max_num_queries):
    # A few reads per group at most (SQLite's percentiles), never one per conversation.
    with django_assert_max_num_queries(10):
        rows = {row["agent"]: row for row in by_agent(WEEK)}

    assert set(rows) == {"alice", "bob"}  # c5 to c7 are unassigned
    alice, bob = rows["alice"], rows["bob"]
    # alice: c1 (first reply 60 s, resolved 3600 s, CSAT 5) and c3 (180 s, 1800 s, unanswered
    # survey); both first-response timers met.
    assert (alice["conversations"], alice["resolved"]) == (2, 2)
    assert alice["first_response_median_seconds"] == 120
    assert alice["handling_average_seconds"] == ((3600 - 60) + (1800 - 180)) / 2
    assert (alice["sla_met"], alice["sla_measured"]) == (1.0, 2)
    assert (alice["csat_responses"], alice["csat_average"], alice["csat_satisfied"]) == (
        1,
        5.0,
        1.0,
    )
    # bob: c2 (120 s, resolved 7200 s, CSAT 2, met) and c4 (600 s, open, no timer).
    assert (bob["conversations"], bob["resolved"]) == (2, 1)
    assert bob["first_response_median_seconds"] == 360
    assert bob["handling_average_seconds"] == 7200 - 120
    assert (bob["sla_met"], bob["sla_measured"]) == (1.0, 1)
    assert (bob["csat_responses"], bob["csat_average"], bob["csat_satisfied"]) == (1, 2.0, 0.0)


def test_per_team_with_the_sla_share_met(week):
    care = Team.objects.create(name="Care", slug="care")
    vip = Team.objects.create(name="VIP", slug="vip")
    conversations = week.conversations
    for name, team in [("c1", care), ("c2", care), ("c4", care), ("c5", vip), ("c6", vip)]:
        conversations[name].team = team
        conversations[name].save(update_fields=["team"])

    rows = {row["team"]: row for row in by_team(WEEK)}

    assert set(rows) == {"Care", "VIP"}
    # Care: c1, c2 (met), c4 (no timer): 2 of 2 measured met; first replies 60, 120, 600 s.
    assert (rows["Care"]["conversations"], rows["Care"]["resolved"]) == (3, 2)
    assert rows["Care"]["first_response_median_seconds"] == 120
    assert (rows["Care"]["sla_met"], rows["Care"]["sla_measured"]) == (1.0, 2)
    # VIP: c5 (1200 s, breached) and c6 (never answered).
    assert rows["VIP"]["first_response_median_seconds"] == 1200
    assert (rows["VIP"]["sla_met"], rows["VIP"]["sla_measured"]) == (0.0, 1)
    assert rows["VIP"]["csat_average"] is None


def test_the_reports_page_shows_the_agents_table(client, week, supervisor):
    client.force_login(supervisor)

    html = client.get(
        reverse("dashboards:reports"), {"start": "2026-03-02", "end": "2026-03-08"}
    ).content.decode()

    assert 'id="agents-table"' in html
    assert (
        "<td>alice</td><td>2</td><td>2</td><td>2.0</td><td>43.0</td><td>100</td><td>5.00</td>"
        in html
    )
