"""How the dashboards show instants and durations to people: local, relative times ("4 min
ago", "due 14:05") with the exact time on hover, never a raw ISO timestamp. The same markup
is upgraded in the browser (static/dashboards/times.js), which keeps relative times fresh and
shows them in the reader's own timezone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.templatetags.spans import short_span

register = template.Library()


def _instant(value: datetime | str | None) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def exact(value: datetime) -> str:
    """The full local instant, for a tooltip: "Wed 2 Dec 2026, 00:49:03 UTC"."""
    return f"{timezone.localtime(value):%a %-d %b %Y, %H:%M:%S %Z}"


def relative(value: datetime, *, now: datetime | None = None) -> str:
    """ "4 min ago", "in 3 min", "just now"."""
    delta = ((now or timezone.now()) - value).total_seconds()
    if abs(delta) < 10:
        return "just now"
    return f"{short_span(delta)} ago" if delta > 0 else f"in {short_span(delta)}"


def _time(
    value: datetime | str | None, fmt: str, text: Callable[[datetime], str], *, title: str = "{}"
) -> SafeString | str:
    """A <time> element for `value`: `text(instant)` to read, the exact instant on hover
    (through `title`) and in `datetime`; "—" when there is no instant."""
    instant = _instant(value)
    if instant is None:
        return "—"
    return format_html(
        '<time datetime="{}" title="{}" data-format="{}">{}</time>',
        instant.isoformat(),
        title.format(exact(instant)),
        fmt,
        text(instant),
    )


@register.filter
def ago(value: datetime | str | None) -> SafeString | str:
    """A <time> reading "4 min ago", the exact instant on hover."""
    return _time(value, "ago", relative)


@register.filter
def waited(value: datetime | str | None) -> SafeString | str:
    """A <time> reading how long since `value` ("15 min"), the exact instant on hover."""
    return _time(
        value,
        "waited",
        lambda instant: short_span((timezone.now() - instant).total_seconds()),
        title="since {}",
    )


@register.filter
def due(value: datetime | str | None) -> SafeString | str:
    """A <time> reading "due 14:05" (with the day when it is not today), exact on hover."""
    return _time(value, "due", lambda instant: f"due {clock(instant)}")


@register.filter
def local(value: datetime | str | None) -> SafeString | str:
    """A <time> reading the local clock time ("14:05", or "2 Dec 14:05" another day)."""
    return _time(value, "clock", clock)


def clock(value: datetime) -> str:
    local_value = timezone.localtime(value)
    if local_value.date() == timezone.localdate():
        return f"{local_value:%H:%M}"
    return f"{local_value:%-d %b %H:%M}"


@register.filter
def percent(share: float | None) -> str:
    """A share (0..1) as a percentage with one decimal: 0.8333 -> "83.3"."""
    return "—" if share is None else f"{share * 100:.1f}".removesuffix(".0")


@register.filter
def minutes(seconds: float | None) -> str:
    """Seconds as minutes with one decimal: 150 -> "2.5"."""
    return "—" if seconds is None else f"{seconds / 60:.1f}"
