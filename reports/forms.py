"""Parsing a report's filters from a query string, with clear errors for bad input."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.models import Intent, Platform, Team
from ingestion.models import PlatformAccount

from .selectors import ReportFilter

DEFAULT_PERIOD_DAYS = 7
MAX_PERIOD_DAYS = 366
# Dates far outside any history only overflow the date arithmetic.
EARLIEST, LATEST = date(1970, 1, 1), date(9000, 12, 31)


class ReportFilterForm(forms.Form):
    start = forms.DateField(required=False, help_text="First day (YYYY-MM-DD).")
    end = forms.DateField(required=False, help_text="Last day, included (YYYY-MM-DD).")
    platform = forms.ChoiceField(choices=[("", "All platforms"), *Platform.choices], required=False)
    account = forms.ModelChoiceField(
        PlatformAccount.objects.order_by("platform", "handle"),
        required=False,
        empty_label="All accounts",
    )
    team = forms.ModelChoiceField(Team.objects.all(), required=False, empty_label="All teams")
    agent = forms.ModelChoiceField(
        get_user_model().objects.filter(agent_profile__isnull=False).order_by("username"),
        required=False,
        empty_label="All agents",
    )
    intent = forms.ChoiceField(choices=[("", "All intents"), *Intent.choices[1:]], required=False)

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end
        if start < EARLIEST or end > LATEST or end < EARLIEST:
            raise forms.ValidationError(f"Choose days between {EARLIEST} and {LATEST}.")
        if not data.get("start"):
            start = end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The period starts after it ends.")
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise forms.ValidationError(f"A report covers at most {MAX_PERIOD_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def report_filter(self, user) -> ReportFilter:
        """The filter of a valid form: whole days in the site's timezone, end day included."""
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        return ReportFilter(
            start=datetime.combine(data["start"], time.min, tzinfo=tz),
            end=datetime.combine(data["end"] + timedelta(days=1), time.min, tzinfo=tz),
            platform=data.get("platform") or "",
            account_id=data["account"].pk if data.get("account") else None,
            team_id=data["team"].pk if data.get("team") else None,
            agent_id=data["agent"].pk if data.get("agent") else None,
            intent=data.get("intent") or None,
            user=user,
        )

    def error_text(self) -> str:
        return "; ".join(
            f"{name}: {' '.join(errors)}" if name != "__all__" else " ".join(errors)
            for name, errors in self.errors.items()
        )
