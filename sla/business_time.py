"""Business-time arithmetic: when is a target due, and how much service time has passed.

Pure functions over a `Schedule` (a service window's opening hours in a timezone, minus closed
dates). No database, no clock: callers pass every instant, so results are deterministic.

Conventions, chosen so a promise means the same thing to the customer and the agent:

* Durations are real elapsed time. A 24/7 window counts 23 hours on the night clocks spring
  forward, 25 on the night they fall back.
* Opening hours are local wall-clock times. A time that does not exist (skipped when clocks
  spring forward) opens when the clock passes it; a time that occurs twice (clocks fall back)
  means its first occurrence.
* A span whose closing time is not after its opening time crosses midnight: 22:00-06:00 opens
  at 22:00 and closes at 06:00 the next day; 00:00-00:00 is the whole day.
* A closed date (holiday) closes every span that opens on that local date.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A schedule that yields no open time for this long is treated as never opening, so a
# misconfigured window raises instead of looping forever.
MAX_CLOSED_DAYS = 800

Interval = tuple[datetime, datetime]


class NeverOpens(ValueError):
    """The schedule has no open time to count on."""


@dataclass(frozen=True)
class Span:
    """Opening hours on one day, in local wall-clock time."""

    opens: time
    closes: time

    @property
    def crosses_midnight(self) -> bool:
        return self.closes <= self.opens


WHOLE_DAY = Span(time(0), time(0))


@dataclass(frozen=True)
class Schedule:
    """Opening hours per weekday (Monday first) in a timezone, minus closed dates."""

    timezone: ZoneInfo
    hours: tuple[tuple[Span, ...], ...]
    closed_dates: Container[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise ValueError("A schedule needs opening hours for each of the 7 weekdays.")

    @property
    def around_the_clock(self) -> bool:
        """Open every minute of every day: business time is plain elapsed time. Only known
        for a plain set of closed dates (a holiday calendar is never taken for empty)."""
        return self.closed_dates == frozenset() and all(day == (WHOLE_DAY,) for day in self.hours)

    @classmethod
    def always(cls, timezone: ZoneInfo, *, closed_dates: Container[date] = frozenset()):
        """Open around the clock (24/7), except on closed dates."""
        return cls(timezone, ((WHOLE_DAY,),) * 7, closed_dates)

    @classmethod
    def daily(
        cls,
        timezone: ZoneInfo,
        opens: time,
        closes: time,
        *,
        closed_dates: Container[date] = frozenset(),
    ):
        """The same window every day, e.g. 08:00-20:00 (or 22:00-06:00 across midnight)."""
        return cls(timezone, ((Span(opens, closes),),) * 7, closed_dates)

    @classmethod
    def weekly(
        cls,
        timezone: ZoneInfo,
        hours: Mapping[int, Iterable[Span]],
        *,
        closed_dates: Container[date] = frozenset(),
    ):
        """Business hours per weekday (0 = Monday); days not given are closed."""
        per_day = tuple(
            tuple(sorted(hours.get(weekday, ()), key=lambda span: span.opens))
            for weekday in range(7)
        )
        return cls(timezone, per_day, closed_dates)


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {instant!r}.")


def _local_instant(day: date, at: time, timezone: ZoneInfo) -> datetime:
    # fold=0: a skipped time takes the offset before the jump (so it lands just after it),
    # a repeated time means its first occurrence.
    return datetime.combine(day, at, tzinfo=timezone).astimezone(UTC)


def open_intervals(schedule: Schedule, since: datetime) -> Iterator[Interval]:
    """The schedule's open intervals (UTC) that end after `since`, in order, disjoint.

    Raises NeverOpens when no open time turns up for MAX_CLOSED_DAYS days.
    """
    _require_aware(since, "since")
    since = since.astimezone(UTC)
    # Start a day early: yesterday's span may cross midnight into today.
    day = since.astimezone(schedule.timezone).date() - timedelta(days=1)
    covered_until = since
    closed_days = 0
    while closed_days <= MAX_CLOSED_DAYS:
        spans = () if day in schedule.closed_dates else schedule.hours[day.weekday()]
        found = False
        for span in spans:
            start = _local_instant(day, span.opens, schedule.timezone)
            end_day = day + timedelta(days=1) if span.crosses_midnight else day
            end = _local_instant(end_day, span.closes, schedule.timezone)
            # Spans from the previous day may overlap this one; never count time twice.
            start = max(start, covered_until)
            if end <= start:
                continue
            found = True
            covered_until = end
            yield start, end
        closed_days = 0 if found else closed_days + 1
        day += timedelta(days=1)
    raise NeverOpens(f"The service window has no open time for {MAX_CLOSED_DAYS} days.")


def add_business_time(start: datetime, duration: timedelta, schedule: Schedule) -> datetime:
    """The instant (UTC) when `duration` of open time has passed since `start`.

    A zero duration gives `start` if the window is open then, else its next opening.
    """
    _require_aware(start, "start")
    if duration < timedelta(0):
        raise ValueError(f"A duration cannot be negative, got {duration}.")
    if schedule.around_the_clock:
        return start.astimezone(UTC) + duration
    remaining = duration
    for opens, closes in open_intervals(schedule, start):
        available = closes - opens
        if remaining <= available:
            return opens + remaining
        remaining -= available
    raise AssertionError("open_intervals either yields forever or raises")  # pragma: no cover


def next_opening(at: datetime, schedule: Schedule) -> datetime:
    """`at` itself when the window is open then, else when it next opens (UTC)."""
    return add_business_time(at, timedelta(0), schedule)


def is_open(at: datetime, schedule: Schedule) -> bool:
    return next_opening(at, schedule) == at.astimezone(UTC)


def _merged(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlap(a: Interval, b: Interval) -> timedelta:
    return max(timedelta(0), min(a[1], b[1]) - max(a[0], b[0]))


def business_time_between(
    start: datetime,
    end: datetime,
    schedule: Schedule,
    *,
    pauses: Sequence[Interval] = (),
) -> timedelta:
    """Open time between `start` and `end`, not counting the paused intervals.

    Zero when `end` is not after `start`.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return timedelta(0)
    for pause_start, pause_end in pauses:
        _require_aware(pause_start, "a pause's start")
        _require_aware(pause_end, "a pause's end")
    paused = _merged((a.astimezone(UTC), b.astimezone(UTC)) for a, b in pauses)
    if schedule.around_the_clock:
        counted = (start, end)
        return end - start - sum((_overlap(counted, pause) for pause in paused), timedelta(0))
    total = timedelta(0)
    for opens, closes in open_intervals(schedule, start):
        if opens >= end:
            break
        counted = (max(opens, start), min(closes, end))
        total += counted[1] - counted[0]
        total -= sum((_overlap(counted, pause) for pause in paused), timedelta(0))
    return total
