"""Spans of time as people say them: "15 minutes", "1 hour 30 minutes"."""

from __future__ import annotations

from datetime import timedelta

from django import template

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
