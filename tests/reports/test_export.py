"""CSV exports: the numbers on screen, streamed, and harmless in a spreadsheet."""

import csv
import io
import re
from html import unescape

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from core.models import Team
from reports.exports import safe_cell
from tests.factories import AgentFactory
from tests.reports.dataset import PERIOD


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def on_screen_summary(html: str) -> list[list[str]]:
    rows = re.findall(
        r'<tr data-metric="[^"]*"><th scope="row">(.*?)</th><td class="value">(.*?)</td>'
        r'<td class="unit">(.*?)</td>.*?</tr>',
        html,
    )
    return [
        [unescape(metric), "" if value == "—" else unescape(value), unescape(unit)]
        for metric, value, unit in rows
    ]


def test_summary_csv_matches_the_numbers_on_the_reports_page(client, week, supervisor):
    client.force_login(supervisor)

    page = client.get(reverse("dashboards:reports"), PERIOD)
    export = client.get(reverse("dashboards:export", args=["summary"]), PERIOD)

    shown = on_screen_summary(page.content.decode())
    exported = read_csv(export)
    assert exported[0] == ["metric", "value", "unit"]
    assert exported[1:] == shown
    # And they are the week's known answers.
    assert ["First response, median", "3.0", "minutes"] in shown
    assert ["First response, p90", "16.0", "minutes"] in shown
    assert ["First response within target", "75.0", "%"] in shown
    assert ["Handling time: alice", "43.0", "minutes"] in shown
    assert export["Content-Disposition"].startswith('attachment; filename="parley-summary-')


def test_heatmap_csv_has_a_row_per_weekday_and_a_column_per_hour(client, week, supervisor):
    client.force_login(supervisor)

    rows = read_csv(client.get(reverse("dashboards:export", args=["heatmap"]), PERIOD))

    assert rows[0][:3] == ["weekday", "00:00", "01:00"]
    assert rows[1][0] == "Mon" and rows[1][1 + 9] == "3" and rows[1][1 + 10] == "2"
    assert rows[7][0] == "Sun" and rows[7][1 + 8] == "2"


def test_conversation_csv_lists_every_conversation_of_the_period(client, week, supervisor):
    client.force_login(supervisor)

    rows = read_csv(client.get(reverse("dashboards:export", args=["conversations"]), PERIOD))

    assert len(rows) == 1 + 7
    by_id = {row[0]: row for row in rows[1:]}
    c1 = by_id[str(week.conversations["c1"].pk)]
    header = rows[0]
    assert float(c1[header.index("first_response_seconds")]) == 60
    assert float(c1[header.index("resolution_seconds")]) == 3600
    assert c1[header.index("assignee")] == "alice"


def test_cells_that_would_run_as_formulas_are_quoted(client, week, supervisor):
    team = Team.objects.create(name='=HYPERLINK("http://evil")', slug="evil")
    week.conversations["c1"].team = team
    week.conversations["c1"].save(update_fields=["team"])
    client.force_login(supervisor)

    rows = read_csv(client.get(reverse("dashboards:export", args=["conversations"]), PERIOD))

    teams = {row[rows[0].index("team")] for row in rows[1:]}
    assert '\'=HYPERLINK("http://evil")' in teams
    cells = ["=1+1", "-2+3", "@SUM(A1)", "\tx", "+1", "-2.5", "ok", 3]
    assert [safe_cell(v) for v in cells] == [
        "'=1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "+1",
        "-2.5",
        "ok",
        3,
    ]


def test_an_unknown_report_is_a_404_and_a_bad_period_a_400(client, supervisor):
    client.force_login(supervisor)

    assert client.get(reverse("dashboards:export", args=["salaries"])).status_code == 404
    bad = client.get(reverse("dashboards:export", args=["summary"]), {"start": "yesterday"})
    assert bad.status_code == 400
    assert b"start: Enter the day as YYYY-MM-DD" in bad.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_under_asgi_the_export_streams_in_batches_without_reading_it_whole(monkeypatch):
    from asgiref.sync import sync_to_async
    from channels.db import database_sync_to_async
    from django.db import connections
    from django.test import AsyncClient

    from reports import views
    from tests.reports.conftest import grant
    from tests.reports.dataset import build_week

    await database_sync_to_async(build_week)()
    supervisor = await database_sync_to_async(AgentFactory)(username="sam")
    await database_sync_to_async(grant)(supervisor, "receive_team_alerts", "view_all_conversations")
    client = AsyncClient()
    await client.aforce_login(supervisor)
    monkeypatch.setattr(views, "EXPORT_BATCH_LINES", 3)  # seven conversations: three batches

    response = await client.get(reverse("dashboards:export", args=["conversations"]), PERIOD)

    assert response.is_async
    chunks = [chunk async for chunk in response.streaming_content]
    # The batches were read on asgiref's shared database thread, after the request (the test
    # client keeps connections open at its end): close that thread's connection, as a
    # served request's end does, or it holds a session on the test database past the tests.
    await sync_to_async(connections.close_all)()
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert len(chunks) == 3 and len(rows) == 1 + 7


def test_csv_carries_machine_values_utc_instants_and_bare_handles(client, week, supervisor):
    client.force_login(supervisor)

    conversations = read_csv(
        client.get(reverse("dashboards:export", args=["conversations"]), PERIOD)
    )
    volume = read_csv(client.get(reverse("dashboards:export", args=["volume"]), PERIOD))

    created = conversations[0].index("created_at")
    assert conversations[1][created] == "2026-03-02T09:00:00Z"
    assert conversations[1][conversations[0].index("intent")] == "complaint"
    handles = {row[1] for row in volume[1:]}
    assert handles == {week.demo.handle, week.x.handle}  # no "@", so no guarding "'"
