"""The weekly report e-mail: last week's numbers to each supervisor, once a week."""

from datetime import UTC, datetime

from django.contrib.auth.models import Group

from core import roles
from reports.models import WeeklyReport
from reports.services import send_weekly_report
from tests.factories import AgentFactory

# The Monday after the hand-built week.
NEXT_MONDAY = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)


def test_supervisors_get_last_weeks_numbers_once(week, mailoutbox):
    roles.ensure_roles()
    lead = AgentFactory(username="lead", email="lead@example.com")
    lead.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    AgentFactory(username="plain", email="plain@example.com")  # an agent: no report

    send_weekly_report(now=NEXT_MONDAY)
    send_weekly_report(now=NEXT_MONDAY.replace(hour=7))

    assert [mail.to for mail in mailoutbox] == [["lead@example.com"]]
    mail = mailoutbox[0]
    assert mail.subject == "Parley weekly report: week of 02 Mar 2026"
    assert "First response, median: 3.0 minutes" in mail.body
    assert "start=2026-03-02&end=2026-03-08" in mail.body
    assert WeeklyReport.objects.get().recipients == 1
