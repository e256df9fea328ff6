"""The dashboards pages and the JSON API: for supervisors only, with the same numbers."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import AgentFactory
from tests.reports.dataset import PERIOD

PAGES = ["dashboards:cockpit", "dashboards:reports", "dashboards:responsiveness"]


@pytest.mark.parametrize("page", PAGES)
def test_an_agent_who_is_not_a_supervisor_is_refused(client, agent, page):
    client.force_login(agent)

    assert client.get(reverse(page)).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_supervisors_see_the_pages(client, supervisor, page):
    client.force_login(supervisor)

    assert client.get(reverse(page)).status_code == 200


def test_the_nav_shows_dashboards_to_supervisors_only(client, supervisor, agent):
    client.force_login(agent)
    assert b">Dashboards</a>" not in client.get(reverse("inbox")).content
    client.force_login(supervisor)
    assert b">Dashboards</a>" in client.get(reverse("inbox")).content


def test_reports_page_serves_chart_js_locally(client, supervisor):
    client.force_login(supervisor)

    html = client.get(reverse("dashboards:reports")).content.decode()

    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    # Nothing loaded from another host ("cdn" alone also matched a random CSRF token).
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


def test_the_date_fields_show_the_period_in_effect(client, supervisor):
    client.force_login(supervisor)
    today = timezone.localdate(timezone=timezone.get_default_timezone())
    week_start = (today - timedelta(days=6)).isoformat()

    first_view = client.get(reverse("dashboards:reports")).content.decode()
    only_the_end = client.get(reverse("dashboards:reports"), {"end": "2026-11-30"}).content.decode()

    assert f'name="start" value="{week_start}"' in first_view
    assert f'name="end" value="{today.isoformat()}"' in first_view
    assert 'name="start" value="2026-11-24"' in only_the_end


def test_bad_filters_on_the_page_get_a_form_error(client, supervisor):
    client.force_login(supervisor)

    response = client.get(
        reverse("dashboards:reports"), {"start": "2026-03-09", "end": "2026-03-01"}
    )

    assert response.status_code == 400
    assert b"The period starts after it ends." in response.content


def test_api_serves_each_report_as_json(client, week, supervisor):
    client.force_login(supervisor)

    first = client.get("/api/reports/first-response/", PERIOD).json()
    heat = client.get("/api/reports/heatmap/", PERIOD).json()

    assert first["data"]["median_seconds"] == 180
    assert heat["data"]["cells"][0][9] == 3
    assert first["filter"]["start"].startswith("2026-03-02")


def test_api_refuses_bad_filters_unknown_reports_and_non_supervisors(client, supervisor):
    client.force_login(supervisor)
    bad = client.get("/api/reports/kpis/", {"platform": "myspace"})
    assert bad.status_code == 400
    assert "platform" in bad.json()
    assert client.get("/api/reports/salaries/").status_code == 404

    client.force_login(AgentFactory())
    assert client.get("/api/reports/kpis/").status_code == 403


def test_api_cockpit_and_very_responsive(client, supervisor):
    client.force_login(supervisor)

    assert "queues" in client.get("/api/reports/cockpit/").json()
    assert client.get("/api/reports/very-responsive/").status_code == 200
