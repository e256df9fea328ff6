"""Admin screens for service windows and SLA policies: valid input saves, invalid input gets
a clear form error."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from sla.business_time import is_open
from sla.models import ServiceWindow, SlaPolicy, SlaTimer, TimerKind
from sla.services import start_response_clocks
from tests.factories import PostFactory
from tests.sla.factories import ServiceWindowFactory

pytestmark = pytest.mark.django_db

NO_INLINES = {
    f"{prefix}-{field}": value
    for prefix in ("business_hours", "closures")
    for field, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
}


def window_form(**overrides) -> dict:
    data = {
        "name": "Care desk",
        "platform": "twitter",
        "kind": "daily",
        "timezone": "Europe/London",
        "opens_at": "08:00",
        "closes_at": "20:00",
        "holiday_country": "GB",
        "holiday_subdivision": "ENG",
        "out_of_hours_reply": "Hi {{ customer.handle }}, we're back {{ back_at }}.",
        **NO_INLINES,
    }
    data.update(overrides)
    return data


def policy_form(**overrides) -> dict:
    data = {
        "name": "VIP",
        "position": "0",
        "is_active": "on",
        "first_response_minutes": "5",
        "next_response_minutes": "10",
        "resolution_minutes": "60",
        "at_risk_percent": "80",
    }
    data.update(overrides)
    return data


def add_window(admin_client, data):
    return admin_client.post(reverse("admin:sla_servicewindow_add"), data)


def errors_of(response) -> str:
    assert response.status_code == 200, "the form was accepted"
    return str(response.context["adminform"].form.errors) + str(
        [formset.formset.errors for formset in response.context["inline_admin_formsets"]]
    )


def test_a_valid_daily_window_with_holidays_is_saved(admin_client):
    response = add_window(admin_client, window_form())

    assert response.status_code == 302
    window = ServiceWindow.objects.get(name="Care desk")
    assert window.holiday_country == "GB"


def test_a_window_closing_before_it_opens_is_refused(admin_client):
    response = add_window(admin_client, window_form(opens_at="20:00", closes_at="08:00"))

    assert "Closes before it opens" in errors_of(response)
    assert not ServiceWindow.objects.exists()


def test_a_night_window_is_accepted_when_marked_as_crossing_midnight(admin_client):
    response = add_window(
        admin_client, window_form(opens_at="22:00", closes_at="06:00", crosses_midnight="on")
    )

    assert response.status_code == 302


def test_an_unknown_timezone_is_refused(admin_client):
    response = add_window(admin_client, window_form(timezone="Europe/Atlantis"))

    assert "Unknown timezone Europe/Atlantis" in errors_of(response)


def test_an_unknown_holiday_country_is_refused(admin_client):
    response = add_window(admin_client, window_form(holiday_country="XX", holiday_subdivision=""))

    assert "No holiday calendar for XX" in errors_of(response)


def test_an_unknown_placeholder_in_the_auto_reply_is_refused(admin_client):
    response = add_window(admin_client, window_form(out_of_hours_reply="Back {{ when }}"))

    errors = errors_of(response)
    assert "Unknown variable {{ when }}" in errors
    assert "{{ back_at }}" in errors and "{{ customer.handle }}" in errors


def weekly_form(*hours: tuple[str, str, str]) -> dict:
    """A weekly window with business hours given as (weekday, opens, closes)."""
    data = window_form(kind="weekly", opens_at="", closes_at="")
    data["business_hours-TOTAL_FORMS"] = str(len(hours))
    for index, (weekday, opens_at, closes_at) in enumerate(hours):
        data[f"business_hours-{index}-weekday"] = weekday
        data[f"business_hours-{index}-opens_at"] = opens_at
        data[f"business_hours-{index}-closes_at"] = closes_at
    return data


def test_business_hours_may_run_until_midnight_overnight_or_all_day(admin_client):
    # Monday until midnight, Friday night into Saturday, Sunday all day.
    data = weekly_form(("0", "18:00", "00:00"), ("4", "22:00", "02:00"), ("6", "00:00", "00:00"))

    response = add_window(admin_client, data)

    assert response.status_code == 302, errors_of(response)
    schedule = ServiceWindow.objects.get(name="Care desk").schedule()
    london = ZoneInfo("Europe/London")

    def open_at(day: int, hour: int, minute: int = 0) -> bool:
        # 5-11 January 2026: Monday to Sunday, no holiday in England.
        return is_open(datetime(2026, 1, day, hour, minute, tzinfo=london), schedule)

    assert open_at(5, 23, 59) and not open_at(6, 0, 1)  # Monday, until midnight
    assert open_at(9, 23) and open_at(10, 1, 30) and not open_at(10, 2, 30)  # Friday night
    assert open_at(11, 0, 1) and open_at(11, 12) and open_at(11, 23, 59)  # Sunday
    assert not open_at(7, 12)  # Wednesday: closed


def test_business_hours_opening_and_closing_at_the_same_time_are_refused(admin_client):
    response = add_window(admin_client, weekly_form(("0", "09:00", "09:00")))

    assert "Opens and closes at the same time" in errors_of(response)
    assert not ServiceWindow.objects.exists()


def test_a_valid_policy_is_saved(admin_client):
    response = admin_client.post(reverse("admin:sla_slapolicy_add"), policy_form())

    assert response.status_code == 302
    assert SlaPolicy.objects.get(name="VIP").first_response_minutes == 5


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_response_minutes", "-5", "at least one minute"),
        ("resolution_minutes", "0", "at least one minute"),
        ("at_risk_percent", "150", "between 1 and 99"),
        ("resolution_minutes", "3", "Resolution cannot be due before the first response"),
    ],
)
def test_an_invalid_policy_target_is_refused(admin_client, field, value, message):
    response = admin_client.post(reverse("admin:sla_slapolicy_add"), policy_form(**{field: value}))

    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors)
    assert not SlaPolicy.objects.filter(name="VIP").exists()


def test_saving_a_policy_in_the_admin_moves_running_timers(
    admin_client, default_team, django_capture_on_commit_callbacks
):
    post = PostFactory(conversation__team=default_team)
    start_response_clocks(conversation=post.conversation, post=post)
    first = SlaTimer.objects.get(conversation=post.conversation, kind=TimerKind.FIRST_RESPONSE)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:sla_slapolicy_change", args=[first.policy.pk]),
            policy_form(name=first.policy.name, position="100", first_response_minutes="45"),
        )

    moved = SlaTimer.objects.get(pk=first.pk)
    assert response.status_code == 302
    assert moved.due_at == first.started_at + timedelta(minutes=45)


def test_removing_a_service_window_in_the_admin_moves_running_timers(
    admin_client, default_team, django_capture_on_commit_callbacks
):
    window = ServiceWindowFactory(kind="daily", opens_at=time(0, 0), closes_at=time(0, 1))
    post = PostFactory(conversation__team=default_team)
    start_response_clocks(conversation=post.conversation, post=post)

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:sla_servicewindow_delete", args=[window.pk]), {"post": "yes"}
        )

    first = SlaTimer.objects.get(conversation=post.conversation, kind=TimerKind.FIRST_RESPONSE)
    assert first.due_at == first.started_at + timedelta(minutes=15)


def test_weekly_business_hours_without_any_day_are_refused(admin_client):
    response = add_window(admin_client, window_form(kind="weekly", opens_at="", closes_at=""))

    assert "need at least one day" in str(
        [formset.formset.non_form_errors() for formset in response.context["inline_admin_formsets"]]
    )
    assert not ServiceWindow.objects.exists()


def test_weekly_business_hours_with_a_day_are_saved(admin_client):
    data = window_form(kind="weekly", opens_at="", closes_at="")
    data.update(
        {
            "business_hours-TOTAL_FORMS": "1",
            "business_hours-0-weekday": "0",
            "business_hours-0-opens_at": "09:00",
            "business_hours-0-closes_at": "17:00",
        }
    )

    response = add_window(admin_client, data)

    assert response.status_code == 302
    assert ServiceWindow.objects.get().business_hours.count() == 1
