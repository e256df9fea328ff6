"""Business-time arithmetic across weekends, holidays, midnight, DST nights and pauses."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.business_time import (
    NeverOpens,
    Schedule,
    Span,
    add_business_time,
    business_time_between,
    is_open,
    next_opening,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
MINUTES = timedelta(minutes=1)
HOURS = timedelta(hours=1)


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


OFFICE_HOURS = {weekday: [Span(time(9), time(17))] for weekday in range(5)}


# --- windows, weekends, holidays, midnight -----------------------------------------------------


def test_a_daily_window_carries_the_remainder_into_the_next_morning():
    window = Schedule.daily(LONDON, time(8), time(20))

    due = add_business_time(at(LONDON, 2026, 6, 10, 19, 55), 15 * MINUTES, window)

    assert due == at(LONDON, 2026, 6, 11, 8, 10)


def test_business_hours_skip_the_weekend():
    office = Schedule.weekly(NEW_YORK, OFFICE_HOURS)
    friday_afternoon = at(NEW_YORK, 2026, 6, 12, 16, 30)

    due = add_business_time(friday_afternoon, HOURS, office)

    assert due == at(NEW_YORK, 2026, 6, 15, 9, 30)
    assert business_time_between(friday_afternoon, due, office) == HOURS


def test_a_country_holiday_closes_the_window_all_day():
    english_holidays = holidays.country_holidays("GB", subdiv="ENG")
    office = Schedule.weekly(LONDON, OFFICE_HOURS, closed_dates=english_holidays)
    thursday_before_good_friday = at(LONDON, 2026, 4, 2, 16)

    due = add_business_time(thursday_before_good_friday, 2 * HOURS, office)

    # Good Friday (3 April) and Easter Monday (6 April) are bank holidays in England.
    assert due == at(LONDON, 2026, 4, 7, 10)


def test_a_custom_closed_date_closes_the_window():
    window = Schedule.daily(LONDON, time(8), time(20), closed_dates={date(2026, 6, 11)})

    due = add_business_time(at(LONDON, 2026, 6, 10, 19, 0), 2 * HOURS, window)

    assert due == at(LONDON, 2026, 6, 12, 9)


def test_a_window_crossing_midnight_counts_through_it():
    night_shift = Schedule.daily(NEW_YORK, time(22), time(6))

    due = add_business_time(at(NEW_YORK, 2026, 6, 10, 23), 3 * HOURS, night_shift)

    assert due == at(NEW_YORK, 2026, 6, 11, 2)
    assert not is_open(at(NEW_YORK, 2026, 6, 11, 12), night_shift)
    assert next_opening(at(NEW_YORK, 2026, 6, 11, 12), night_shift) == at(NEW_YORK, 2026, 6, 11, 22)


def test_a_holiday_closes_the_night_span_that_opens_on_it_only():
    night_shift = Schedule.daily(NEW_YORK, time(22), time(6), closed_dates={date(2026, 6, 11)})

    # The span opening on the 10th runs to 06:00 on the 11th; the one opening on the 11th is
    # closed, so the next opens on the 12th at 22:00.
    due = add_business_time(at(NEW_YORK, 2026, 6, 11, 5), 2 * HOURS, night_shift)

    assert due == at(NEW_YORK, 2026, 6, 12, 23)


def test_a_target_met_while_closed_counts_only_open_time():
    window = Schedule.daily(LONDON, time(8), time(20))

    elapsed = business_time_between(
        at(LONDON, 2026, 6, 10, 19, 50), at(LONDON, 2026, 6, 11, 8, 5), window
    )

    assert elapsed == 15 * MINUTES


# --- DST nights ----------------------------------------------------------------------------------


def test_around_the_clock_counts_real_time_when_london_springs_forward():
    always = Schedule.always(LONDON)
    before = at(LONDON, 2026, 3, 29, 0, 30)  # GMT; at 01:00 clocks jump to 02:00 BST

    due = add_business_time(before, HOURS, always)

    assert due == at(LONDON, 2026, 3, 29, 2, 30)
    assert business_time_between(at(LONDON, 2026, 3, 29), at(LONDON, 2026, 3, 30), always) == (
        23 * HOURS
    )


def test_around_the_clock_counts_real_time_when_london_falls_back():
    always = Schedule.always(LONDON)

    length = business_time_between(at(LONDON, 2026, 10, 25), at(LONDON, 2026, 10, 26), always)

    assert length == 25 * HOURS


def test_a_night_window_loses_an_hour_when_new_york_springs_forward():
    night = Schedule.daily(NEW_YORK, time(0), time(6))

    open_time = business_time_between(
        at(NEW_YORK, 2026, 3, 8, 0), at(NEW_YORK, 2026, 3, 8, 6), night
    )
    due = add_business_time(at(NEW_YORK, 2026, 3, 8, 1, 30), HOURS, night)

    assert open_time == 5 * HOURS
    # 01:30 EST + 1 h = 03:30 EDT: 02:xx never happens that night.
    assert due == at(NEW_YORK, 2026, 3, 8, 3, 30)


def test_a_night_window_gains_an_hour_when_new_york_falls_back():
    night = Schedule.daily(NEW_YORK, time(0), time(6))

    open_time = business_time_between(
        at(NEW_YORK, 2026, 11, 1, 0), at(NEW_YORK, 2026, 11, 1, 6), night
    )

    assert open_time == 7 * HOURS


def test_a_window_opening_in_the_skipped_hour_opens_when_the_clock_passes_it():
    # 01:30 does not exist in London on 29 March 2026; the window opens at 02:30 BST.
    window = Schedule.daily(LONDON, time(1, 30), time(4))

    opening = next_opening(at(LONDON, 2026, 3, 29, 0, 0), window)

    assert opening == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert opening == at(LONDON, 2026, 3, 29, 2, 30)


def test_a_daily_window_is_twelve_open_hours_on_both_dst_days():
    window = Schedule.daily(LONDON, time(8), time(20))

    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        start = datetime.combine(day, time(0), tzinfo=LONDON)
        assert business_time_between(start, start + 30 * HOURS, window) == 12 * HOURS


# --- pauses ---------------------------------------------------------------------------------------


def test_paused_time_does_not_count():
    window = Schedule.daily(LONDON, time(8), time(20))
    pause = (at(LONDON, 2026, 6, 10, 10), at(LONDON, 2026, 6, 10, 11))

    elapsed = business_time_between(
        at(LONDON, 2026, 6, 10, 9), at(LONDON, 2026, 6, 10, 12), window, pauses=[pause]
    )

    assert elapsed == 2 * HOURS


def test_a_pause_outside_the_window_is_not_subtracted_twice():
    window = Schedule.daily(LONDON, time(8), time(20))
    overnight_pause = (at(LONDON, 2026, 6, 10, 19), at(LONDON, 2026, 6, 11, 9))
    overlapping_pause = (at(LONDON, 2026, 6, 10, 19, 30), at(LONDON, 2026, 6, 10, 21))

    elapsed = business_time_between(
        at(LONDON, 2026, 6, 10, 18),
        at(LONDON, 2026, 6, 11, 10),
        window,
        pauses=[overnight_pause, overlapping_pause],
    )

    # Open 18:00-19:00 before the pause and 09:00-10:00 after it.
    assert elapsed == 2 * HOURS


# --- bad input ------------------------------------------------------------------------------------


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(datetime(2026, 6, 10, 9), HOURS, Schedule.always(LONDON))


def test_a_negative_duration_is_refused():
    with pytest.raises(ValueError, match="negative"):
        add_business_time(at(LONDON, 2026, 6, 10, 9), -HOURS, Schedule.always(LONDON))


def test_a_window_that_never_opens_raises_instead_of_looping():
    with pytest.raises(NeverOpens):
        add_business_time(at(LONDON, 2026, 6, 10, 9), HOURS, Schedule.weekly(LONDON, {}))


# --- properties -----------------------------------------------------------------------------------

ZONES = [ZoneInfo(name) for name in ("Europe/London", "America/New_York", "Asia/Kolkata", "UTC")]
times = st.times().map(lambda value: value.replace(second=0, microsecond=0))
spans = st.builds(Span, times, times)
closed = st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=30)
schedules = st.one_of(
    st.builds(lambda tz, c: Schedule.always(tz, closed_dates=c), st.sampled_from(ZONES), closed),
    st.builds(
        lambda tz, s, c: Schedule.daily(tz, s.opens, s.closes, closed_dates=c),
        st.sampled_from(ZONES),
        spans,
        closed,
    ),
    st.builds(
        lambda tz, hours, c: Schedule.weekly(tz, hours, closed_dates=c),
        st.sampled_from(ZONES),
        st.dictionaries(st.integers(0, 6), st.lists(spans, min_size=1, max_size=2), min_size=1),
        closed,
    ),
)
instants = st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 30), timezones=st.just(UTC)).map(
    lambda value: value.replace(microsecond=0)
)
durations = st.integers(0, 72 * 60).map(lambda minutes: timedelta(minutes=minutes))


@settings(max_examples=150, deadline=None)
@given(schedules, instants, durations)
def test_the_time_elapsed_until_the_due_instant_is_the_target(schedule, start, duration):
    due = add_business_time(start, duration, schedule)

    assert due >= start
    assert business_time_between(start, due, schedule) == duration


@settings(max_examples=150, deadline=None)
@given(schedules, instants, durations, durations)
def test_business_time_adds_up_over_consecutive_periods(schedule, start, first, second):
    middle = start + first
    end = middle + second

    whole = business_time_between(start, end, schedule)
    parts = business_time_between(start, middle, schedule) + business_time_between(
        middle, end, schedule
    )

    assert whole == parts
    assert whole <= end - start


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), instants, durations)
def test_around_the_clock_without_holidays_is_plain_elapsed_time(tz, start, duration):
    assert add_business_time(start, duration, Schedule.always(tz)) == start + duration


@settings(max_examples=100, deadline=None)
@given(schedules, instants, durations, durations, durations)
def test_a_pause_removes_exactly_the_open_time_inside_it(schedule, start, before, length, after):
    pause = (start + before, start + before + length)
    end = pause[1] + after

    with_pause = business_time_between(start, end, schedule, pauses=[pause])

    assert with_pause == business_time_between(start, end, schedule) - business_time_between(
        *pause, schedule
    )


class _NoHolidays:
    """A holiday calendar with none in it: not a set, so Schedule takes the general path."""

    def __contains__(self, day) -> bool:
        return False


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ZONES), instants, durations, durations, durations)
def test_the_around_the_clock_shortcut_agrees_with_counting_open_intervals(
    tz, start, duration, pause_offset, pause_length
):
    shortcut = Schedule.always(tz)
    counted = Schedule.always(tz, closed_dates=_NoHolidays())
    assert shortcut.around_the_clock and not counted.around_the_clock
    end = start + duration
    pauses = [(start + pause_offset, start + pause_offset + pause_length)]

    assert add_business_time(start, duration, shortcut) == add_business_time(
        start, duration, counted
    )
    assert business_time_between(start, end, shortcut, pauses=pauses) == business_time_between(
        start, end, counted, pauses=pauses
    )
