"""Parsing a report's filters from a query string, with clear errors for bad input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.models import Intent, Platform, Team
from ingestion.models import PlatformAccount

from .exports import EXPORTS
from .models import ReportSchedule
from .selectors import ReportFilter

DEFAULT_PERIOD_DAYS = 7
MAX_PERIOD_DAYS = 366
# Dates far outside any history only overflow the date arithmetic.
EARLIEST, LATEST = date(1970, 1, 1), date(9000, 12, 31)


def _day_field(label, help_text) -> forms.DateField:
    # ISO days only: "01/12/2026" is 1 December to some and 12 January to others, so it is
    # an error, not a guess. Browsers show their own calendar for type="date" and send ISO.
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=help_text,
        error_messages={"invalid": _("Enter the day as YYYY-MM-DD, or pick it in the calendar.")},
    )


@dataclass(frozen=True)
class Preset:
    label: str
    start: date
    end: date
    query: str
    current: bool


class ReportFilterForm(forms.Form):
    start = _day_field(pgettext_lazy("start of a period", "From"), _("First day."))
    end = _day_field(pgettext_lazy("end of a period", "To"), _("Last day, included."))
    platform = forms.ChoiceField(
        choices=[("", _("All platforms")), *Platform.choices], required=False, label=_("Platform")
    )
    account = forms.ModelChoiceField(
        PlatformAccount.objects.order_by("platform", "handle"),
        required=False,
        empty_label=_("All accounts"),
        label=_("Account"),
    )
    team = forms.ModelChoiceField(
        Team.objects.all(), required=False, empty_label=_("All teams"), label=_("Team")
    )
    agent = forms.ModelChoiceField(
        get_user_model().objects.filter(agent_profile__isnull=False).order_by("username"),
        required=False,
        empty_label=_("All agents"),
        label=_("Agent"),
    )
    intent = forms.ChoiceField(
        choices=[("", _("All intents")), *Intent.choices[1:]], required=False, label=_("Intent")
    )

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate(timezone=timezone.get_default_timezone())
        end = data.get("end") or today
        start = data.get("start") or end
        if start < EARLIEST or end > LATEST or end < EARLIEST:
            raise forms.ValidationError(
                gettext("Choose days between %(earliest)s and %(latest)s.")
                % {"earliest": EARLIEST, "latest": LATEST}
            )
        if not data.get("start"):
            start = end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        if start > end:
            raise forms.ValidationError(gettext("The period starts after it ends."))
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise forms.ValidationError(
                gettext("A report covers at most %(days)s days.") % {"days": MAX_PERIOD_DAYS}
            )
        data["start"], data["end"] = start, end
        # The date fields show the period in effect, not blanks, when it was left to the
        # defaults (the page's first view, a preset without one of the two days).
        shown = self.data.copy()
        shown["start"], shown["end"] = start.isoformat(), end.isoformat()
        self.data = shown
        return data

    def report_filter(self, user) -> ReportFilter:
        """The filter of a valid form: whole days in the site's timezone (TIME_ZONE, not the
        reading agent's: every supervisor reads the same days), end day included."""
        data = self.cleaned_data
        tz = timezone.get_default_timezone()
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

    def presets(self, today: date | None = None) -> list[Preset]:
        """Today, the last 7 and 30 days and this month, each as a query string that keeps
        the other filters; `current` marks the one the form shows."""
        today = today or timezone.localdate(timezone=timezone.get_default_timezone())
        periods = [
            (gettext("Today"), today, today),
            (gettext("Last 7 days"), today - timedelta(days=6), today),
            (gettext("Last 30 days"), today - timedelta(days=29), today),
            (gettext("This month"), today.replace(day=1), today),
        ]
        kept = {
            name: value
            for name, value in (self.data.items() if self.is_bound else [])
            if name not in ("start", "end") and value
        }
        shown = (
            (self.cleaned_data.get("start"), self.cleaned_data.get("end"))
            if (self.is_bound and self.is_valid())
            else (None, None)
        )
        return [
            Preset(
                label,
                start,
                end,
                urlencode({**kept, "start": start.isoformat(), "end": end.isoformat()}),
                (start, end) == shown,
            )
            for label, start, end in periods
        ]

    def error_text(self) -> str:
        return "; ".join(
            f"{name}: {' '.join(errors)}" if name != "__all__" else " ".join(errors)
            for name, errors in self.errors.items()
        )


class ReportScheduleForm(forms.ModelForm):
    """A supervisor's scheduled e-mail: which reports, to whom, for which period."""

    reports = forms.MultipleChoiceField(
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Attached as CSV; the summary is also in the e-mail's text."),
    )

    class Meta:
        model = ReportSchedule
        fields = ["name", "reports", "recipients", "period"]
        widgets = {"recipients": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)

        self.fields["reports"].choices = [(name, name.capitalize()) for name in EXPORTS]

    def clean_recipients(self) -> str:
        text = self.cleaned_data["recipients"]
        addresses = [a.strip() for a in text.replace(",", "\n").splitlines() if a.strip()]
        if not addresses:
            raise forms.ValidationError(gettext("Give at least one e-mail address."))
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                bad.append(address)
        if bad:
            raise forms.ValidationError(
                gettext("Not an e-mail address: %(addresses)s.") % {"addresses": ", ".join(bad)}
            )
        return "\n".join(addresses)
