"""Spans of time as people say them: "15 minutes", "1 hour 30 minutes", or short, as the
inbox and the dashboards show a wait: "45 s", "10 min", "2 h 05 min"."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.translation import pgettext

register = template.Library()


def _unit(count: int, name: str) -> str:
    return f"{count} {name}{'' if count == 1 else 's'}"


@register.filter
def span(value: timedelta | None) -> str:
    """A timedelta in words, to the minute (under a minute: seconds)."""
    if value is None:
        return ""
    seconds = max(int(value.total_seconds()), 0)
    if seconds < 60:
        return _unit(seconds, "second")
    days, rest = divmod(seconds // 60, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        _unit(count, name)
        for count, name in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if count
    ]
    return " ".join(parts)


@register.filter
def short_span(seconds: float | None) -> str:
    """Seconds as a short span: "45 s", "4 min", "2 h 05 min", "3 d 4 h" (whole units, the
    largest two); "" for None."""
    if seconds is None:
        return ""
    seconds = int(abs(seconds))
    second = pgettext("short unit of time", "s")
    minute = pgettext("short unit of time", "min")
    hour = pgettext("short unit of time", "h")
    day = pgettext("short unit of time", "d")
    if seconds < 60:
        return f"{seconds} {second}"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} {minute}"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} {hour} {minutes:02d} {minute}"
    days, hours = divmod(hours, 24)
    return f"{days} {day} {hours} {hour}"
