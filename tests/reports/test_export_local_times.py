"""CSV exports give instants twice: ISO 8601 UTC (for scripts, unchanged) and the wall-clock
time in the agent's own time zone (their profile), so a spreadsheet reads their day."""

import csv
import io
import zoneinfo

from django.urls import reverse

from core.models import AgentProfile
from reports.exports import export_lines
from reports.selectors import ReportFilter
from tests.reports.dataset import MONDAY, PERIOD


def exported(client, name: str = "conversations") -> list[dict[str, str]]:
    response = client.get(reverse("dashboards:export", args=[name]), PERIOD)
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_an_agent_in_new_york_gets_new_york_times_next_to_the_utc_columns(client, week, supervisor):
    AgentProfile.objects.filter(user=supervisor).update(time_zone="America/New_York")
    client.force_login(supervisor)

    rows = {row["conversation"]: row for row in exported(client)}

    c1 = rows[str(week.conversations["c1"].pk)]
    # Monday 2 March 2026, 09:00 UTC: 04:00 in New York (EST, before the 8 March change).
    assert (c1["created_at"], c1["first_response_at"], c1["resolved_at"]) == (
        "2026-03-02T09:00:00Z",
        "2026-03-02T09:01:00Z",
        "2026-03-02T10:00:00Z",
    )
    assert c1["local_time_zone"] == "America/New_York"
    assert (c1["created_at_local"], c1["first_response_at_local"], c1["resolved_at_local"]) == (
        "2026-03-02 04:00:00",
        "2026-03-02 04:01:00",
        "2026-03-02 05:00:00",
    )


def test_local_columns_come_after_the_utc_ones_and_stay_empty_where_the_instant_is(
    client, week, supervisor
):
    client.force_login(supervisor)

    response = client.get(reverse("dashboards:export", args=["conversations"]), PERIOD)
    body = b"".join(response.streaming_content).decode()
    header = next(csv.reader(io.StringIO(body)))
    rows = list(csv.DictReader(io.StringIO(body)))

    assert header[-4:] == [
        "local_time_zone",
        "created_at_local",
        "first_response_at_local",
        "resolved_at_local",
    ]
    assert header.index("resolution_seconds") < header.index("local_time_zone")
    # No zone chosen: the server's (UTC here), so the local times read as the UTC ones.
    assert {row["local_time_zone"] for row in rows} == {"UTC"}
    unresolved = [row for row in rows if not row["resolved_at"]]
    assert unresolved and all(row["resolved_at_local"] == "" for row in unresolved)
    for row in rows:
        assert row["created_at_local"] == row["created_at"].replace("T", " ").removesuffix("Z")


def test_the_zone_is_chosen_when_the_export_starts(week, supervisor):
    report = ReportFilter(start=MONDAY, end=MONDAY.replace(day=9), user=supervisor)

    lines = export_lines("conversations", report, zone=zoneinfo.ZoneInfo("Asia/Tokyo"))

    rows = list(csv.DictReader(io.StringIO("".join(lines))))
    c1 = next(row for row in rows if row["conversation"] == str(week.conversations["c1"].pk))
    assert (c1["local_time_zone"], c1["created_at_local"]) == ("Asia/Tokyo", "2026-03-02 18:00:00")


def test_reports_count_days_in_the_server_zone_whatever_the_agent_chose(client, week, supervisor):
    def exports() -> list[str]:
        return [
            b"".join(
                client.get(reverse("dashboards:export", args=[name]), PERIOD).streaming_content
            ).decode()
            for name in ("summary", "heatmap", "sentiment")
        ]

    client.force_login(supervisor)
    in_utc = exports()
    AgentProfile.objects.filter(user=supervisor).update(time_zone="Asia/Tokyo")
    client.force_login(supervisor)  # the choice is read at login

    assert exports() == in_utc
