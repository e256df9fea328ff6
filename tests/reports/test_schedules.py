"""Scheduled report e-mails: the reports a supervisor chose, to whom they chose, once per
day, week or month after it ends."""

from datetime import UTC, date, datetime

from django.core import mail
from django.urls import reverse

from reports.models import ReportPeriod, ReportSchedule
from reports.services import last_complete_period, send_scheduled_reports

WEDNESDAY_AFTER = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)


def test_the_last_complete_day_week_and_month():
    wednesday = date(2026, 3, 11)
    assert last_complete_period(ReportPeriod.DAY, wednesday) == (date(2026, 3, 10),) * 2
    assert last_complete_period(ReportPeriod.WEEK, wednesday) == (
        date(2026, 3, 2),
        date(2026, 3, 8),
    )
    assert last_complete_period(ReportPeriod.MONTH, wednesday) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
    )


def test_a_weekly_schedule_mails_its_reports_once_after_the_week(week, supervisor):
    ReportSchedule.objects.create(
        owner=supervisor,
        name="Team weekly",
        reports=["summary", "agents"],
        recipients="lead@example.com, boss@example.com",
        period=ReportPeriod.WEEK,
    )

    first_run = send_scheduled_reports(now=WEDNESDAY_AFTER)
    second_run = send_scheduled_reports(now=WEDNESDAY_AFTER.replace(hour=11))

    assert (first_run, second_run) == (1, 0)
    (message,) = mail.outbox
    assert message.to == ["lead@example.com", "boss@example.com"]
    assert message.subject == "Parley: Team weekly, 02 Mar to 08 Mar 2026"
    assert "First response, median: 3.0 minutes" in message.body
    attachments = {name: content for name, content, _ in message.attachments}
    assert set(attachments) == {
        "parley-summary-2026-03-02-2026-03-08.csv",
        "parley-agents-2026-03-02-2026-03-08.csv",
    }
    agents = attachments["parley-agents-2026-03-02-2026-03-08.csv"].splitlines()
    assert agents[0].startswith("agent,conversations,resolved")
    assert agents[1].startswith("alice,2,2,2.0,43.0,100.0")


def test_supervisors_schedule_and_stop_their_e_mails(client, supervisor):
    client.force_login(supervisor)
    url = reverse("dashboards:schedules")

    refused = client.post(
        url, {"name": "Daily", "reports": ["summary"], "recipients": "not-mail", "period": "day"}
    )
    created = client.post(
        url,
        {
            "name": "Daily",
            "reports": ["summary", "teams"],
            "recipients": "lead@example.com",
            "period": "day",
        },
    )

    assert refused.status_code == 400
    assert "Not an e-mail address: not-mail." in refused.content.decode()
    assert created.status_code == 302
    schedule = ReportSchedule.objects.get()
    assert (schedule.owner, schedule.reports, schedule.period) == (
        supervisor,
        ["summary", "teams"],
        "day",
    )
    page = client.get(url).content.decode()
    assert "Daily" in page and "lead@example.com" in page

    client.post(url, {"delete": schedule.pk})
    assert not ReportSchedule.objects.exists()
