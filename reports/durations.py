"""Exact percentiles of the reports' durations (first response, resolution, next response)
from the daily histograms (reports.models.DurationDaily) instead of sorting a month of rows.

The histograms count each duration under its UTC day and bucket, with the sum of the
microseconds past the bucket's lower bound; triggers (migrations reports 0013, 0015) keep them
at every write, as the hourly roll-ups are kept. Buckets are log-spaced (bucket_of): whole
seconds below 32 s, then 16 per doubling, so a month is a few hundred rows per group whatever
the number of conversations. A percentile (linear interpolation between the two ranks around
it, as percentile_cont) finds the buckets holding its ranks from the counts; a bucket whose
microseconds sum to 0 holds only its lower bound, any other is read from its rows of the
period (on PostgreSQL through an expression index on the bucket, migration reports 0016), all
the wanted buckets in one statement. Whole ISO weeks come from the weekly histograms
(reports.models.DurationWeekly, kept from the daily rows by triggers, migration reports 0017),
the other whole UTC days from the daily ones, the partial days at the period's edges (a time
zone other than UTC) from the rows, grouped the same way. The result is the raw selectors' to
the millisecond the reports round to.

Each metric is defined here once, as SQL on the raw rows: the triggers, the rebuild and the
edges all use it, and tests/reports/test_rollups.py reconciles them with the raw selectors.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from core.selectors import can_see_all_conversations

from .models import DurationDaily, DurationMetric, DurationWeekly
from .rollups import empty_from, lock_for_rebuild

if TYPE_CHECKING:
    from .selectors import ReportFilter


@dataclass(frozen=True)
class Measure:
    """What one metric counts, as SQL on one row of `table` ({p} is the row's prefix: "",
    "NEW.", "d."...): the rows it keeps, the instant its day is read from, the duration's
    ends (None: a pending count, stored at second 0) and its group columns."""

    metric: int
    table: str
    where: str
    period: str
    end: str | None
    start: str | None
    team: str = "0"
    assignee: str = "0"
    intent: str = "''"


CONVERSATION = "helpdesk_conversation"
TURN = "reports_customerturn"
MEASURES = (
    Measure(
        DurationMetric.FIRST_RESPONSE,
        CONVERSATION,
        "{p}needs_reply AND {p}first_response_at IS NOT NULL",
        "created_at",
        "first_response_at",
        "created_at",
        team="COALESCE({p}team_id, 0)",
        assignee="COALESCE({p}assignee_id, 0)",
    ),
    Measure(
        DurationMetric.FIRST_RESPONSE_PENDING,
        CONVERSATION,
        "{p}needs_reply AND {p}first_response_at IS NULL",
        "created_at",
        None,
        None,
        team="COALESCE({p}team_id, 0)",
        assignee="COALESCE({p}assignee_id, 0)",
    ),
    Measure(
        DurationMetric.RESOLUTION,
        CONVERSATION,
        "{p}resolved_at IS NOT NULL",
        "created_at",
        "resolved_at",
        "created_at",
        intent="{p}intent",
    ),
    Measure(
        DurationMetric.NEXT_RESPONSE,
        TURN,
        "{p}answered_at IS NOT NULL",
        "started_at",
        "answered_at",
        "started_at",
    ),
    Measure(
        DurationMetric.NEXT_RESPONSE_PENDING,
        TURN,
        "{p}answered_at IS NULL",
        "started_at",
        None,
        None,
    ),
)
BY_METRIC = {measure.metric: measure for measure in MEASURES}
# The conversation columns the measures read: an UPDATE changing none of them moves nothing.
CONVERSATION_COLUMNS = (
    "created_at",
    "team_id",
    "assignee_id",
    "intent",
    "needs_reply",
    "first_response_at",
    "resolved_at",
)
TURN_COLUMNS = ("started_at", "answered_at")


# --- SQL of a duration, exact to the microsecond, on both backends -----------------------------
# Written for a cursor with parameters (SQLite's strftime's % doubled); DDL without parameters
# (the triggers) undoes the doubling (unescape).


def _sqlite_us(column: str) -> str:
    # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC): whole seconds from strftime, the
    # microseconds from the text, so no julianday rounding creeps in. strftime is given the
    # text without its fraction: SQLite rounds times to the millisecond, so '…:30.9999995'
    # would read as second 31.
    return (
        f"(CAST(strftime('%%s', substr({column}, 1, 19)) AS INTEGER) * 1000000"
        f" + CAST(substr({column} || '.000000', 21, 6) AS INTEGER))"
    )


def duration_us_sql(vendor: str, end: str, start: str) -> str:
    """`end - start` in whole microseconds (exact)."""
    if vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) * 1000000)::bigint"
    return f"({_sqlite_us(end)} - {_sqlite_us(start)})"


def seconds_sql(vendor: str, end: str, start: str) -> str:
    """The duration's whole seconds (floor), what bucket_of reads (and, by whole second, what
    migrations reports 0013 and 0014 keyed on)."""
    if vendor == "postgresql":
        return f"floor(EXTRACT(EPOCH FROM ({end} - {start})))::bigint"
    us = duration_us_sql(vendor, end, start)
    return f"(({us} - ((({us}) %% 1000000) + 1000000) %% 1000000) / 1000000)"


def day_sql(vendor: str, column: str) -> str:
    if vendor == "postgresql":
        return f"(({column}) AT TIME ZONE 'UTC')::date"
    return f"date({column})"


def unescape(sql: str) -> str:
    return sql.replace("%%", "%")


# --- buckets -----------------------------------------------------------------------------------
# A duration of s whole seconds falls in the bucket whose lower bound is s with all but its
# BUCKET_BITS leading binary digits cleared: 1 s wide below 2**BUCKET_BITS seconds, then
# 2**(BUCKET_BITS - 1) buckets per doubling, each at most 1/16 of its lower bound wide. Integer
# arithmetic only (no logarithm: both backends must agree with Python to the second).
BUCKET_BITS = 5
# Beyond 2**BUCKET_TOP seconds (some 35,000 years) the width stops growing.
BUCKET_TOP = 40
# PostgreSQL: the same buckets as an immutable function (migration reports 0015), so the lookup
# index can be built on it.
BUCKET_FUNCTION = "reports_duration_bucket"


def bucket_of(seconds: int) -> int:
    """The lower bound (whole seconds) of the bucket of a duration of `seconds` (floor)."""
    if seconds < 2**BUCKET_BITS:
        return seconds
    drop = min(seconds.bit_length(), BUCKET_TOP) - BUCKET_BITS
    return seconds - seconds % 2**drop


def bucket_ladder_sql(value: str) -> str:
    """bucket_of as SQL on an integer expression (repeated: give it a column or a parameter)."""
    steps = [f"WHEN {value} < {2**BUCKET_BITS} THEN {value}"]
    for bits in range(BUCKET_BITS + 1, BUCKET_TOP + 1):
        width = 2 ** (bits - BUCKET_BITS)
        steps.append(f"WHEN {value} < {2**bits} THEN {value} - {value} %% {width}")
    width = 2 ** (BUCKET_TOP - BUCKET_BITS)
    return f"(CASE {' '.join(steps)} ELSE {value} - {value} %% {width} END)"


def bucket_function_sql() -> str:
    """CREATE FUNCTION of the PostgreSQL bucket (no parameters: nothing doubled). PL/pgSQL
    around width_bucket over the doublings: about 1 µs a call, where a SQL function of the
    ladder that PostgreSQL cannot inline (its argument is an expression, used many times)
    costs some 15 µs, once per row in every trigger and lookup index."""
    doublings = ", ".join(str(2**bits) for bits in range(BUCKET_BITS, BUCKET_TOP))
    return (
        f"CREATE OR REPLACE FUNCTION {BUCKET_FUNCTION}(seconds bigint) RETURNS bigint"
        " LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$ BEGIN"
        " RETURN seconds - seconds % (1::bigint << width_bucket(seconds,"
        f" ARRAY[{doublings}]::bigint[])); END $$"
    )


def bucket_sql(vendor: str, end: str, start: str) -> str:
    """The bucket of `end - start` in one expression: on PostgreSQL the lookup indexes'
    expression (migration reports 0016, same text)."""
    if vendor == "postgresql":
        return f"{BUCKET_FUNCTION}({seconds_sql(vendor, end, start)})"
    return bucket_ladder_sql(seconds_sql(vendor, end, start))


def measure_rows_sql(vendor: str, measure: Measure, prefix: str = "") -> str:
    """SELECT day, metric, team_id, assignee_id, intent, seconds, fraction_us of each row the
    measure keeps, from `{measure.table}` (or whatever the caller appends: FROM is left out),
    by whole second: what migration reports 0013 built; measure_buckets_sql groups these."""
    p = prefix

    def column(name: str) -> str:
        return f"{p}{name}"

    if measure.end is None:
        seconds, fraction = "0", "0"
    else:
        end, start = column(measure.end), column(measure.start)
        seconds = seconds_sql(vendor, end, start)
        fraction = f"({duration_us_sql(vendor, end, start)} - {seconds} * 1000000)"
    return (
        f"SELECT {day_sql(vendor, column(measure.period))} AS day, {int(measure.metric)} AS metric,"
        f" {measure.team.format(p=p)} AS team_id, {measure.assignee.format(p=p)} AS assignee_id,"
        f" {measure.intent.format(p=p)} AS intent, {seconds} AS seconds,"
        f" {fraction} AS fraction_us"
    )


def measure_buckets_sql(vendor: str, measure: Measure, rows: str, keep: str = "") -> str:
    """The same columns by bucket: `seconds` the bucket's lower bound, `fraction_us` the
    microseconds past it, from `rows` (measure_rows_sql and its FROM ... WHERE), each row's
    duration and bucket computed once; `keep` (", sign") passes more of rows' columns on."""
    if vendor == "postgresql":
        # OFFSET 0: the subquery is not pulled up, so the function runs once per row.
        bucketed = f"SELECT w.*, {BUCKET_FUNCTION}(w.seconds) AS bucket FROM ({rows}) w OFFSET 0"
    else:
        bucketed = f"SELECT w.*, {bucket_ladder_sql('w.seconds')} AS bucket FROM ({rows}) w"
    kept = "".join(f", b.{name.strip()}" for name in keep.split(",") if name.strip())
    return (
        "SELECT b.day, b.metric, b.team_id, b.assignee_id, b.intent, b.bucket AS seconds,"
        f" b.fraction_us + (b.seconds - b.bucket) * 1000000 AS fraction_us{kept}"
        f" FROM ({bucketed}) b"
    )


def rebuild_histograms_sql(
    vendor: str, *, table: str, since: datetime | None, bucketed: bool = True
) -> tuple[str, list]:
    """The INSERT that fills the histograms (slot 0) of the measures of `table` from its
    rows (those from `since` on, all without it); also run by migrations reports 0013 (by
    whole second: `bucketed` False) and 0015."""
    parts, params = [], []
    for measure in MEASURES:
        if measure.table != table:
            continue
        where = measure.where.format(p="")
        if since is not None:
            where += f" AND {measure.period} >= %s"
            params.append(since)
        rows = f"{measure_rows_sql(vendor, measure)} FROM {table} WHERE {where}"
        parts.append(measure_buckets_sql(vendor, measure, rows) if bucketed else rows)
    sql = f"""
        INSERT INTO reports_durationdaily
            (day, metric, team_id, assignee_id, intent, seconds, slot, durations, fraction_us)
        SELECT day, metric, team_id, assignee_id, intent, seconds, 0, COUNT(*), SUM(fraction_us)
        FROM ({" UNION ALL ".join(parts)}) m
        GROUP BY day, metric, team_id, assignee_id, intent, seconds
    """
    return sql, params


def rebuild_duration_histograms(*, since: datetime | None = None) -> int:
    """Recompute the histograms from the conversations and customer turns (all, or the days
    from `since`'s UTC day on), locking them as the roll-ups are (lock_for_rebuild);
    returns the rows written."""
    day = None
    if since is not None:
        day = since.astimezone(UTC).date()
        since = datetime.combine(day, time(), tzinfo=UTC)
    adapted = None if since is None else connection.ops.adapt_datetimefield_value(since)
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        # Daily first, then weekly: the order every writer takes them in (the weekly rows
        # are written by the daily table's triggers).
        lock_for_rebuild(cursor, DurationDaily)
        lock_for_rebuild(cursor, DurationWeekly)
        empty_from(DurationDaily, field="day", since=day)
        for table in (CONVERSATION, TURN):
            sql, params = rebuild_histograms_sql(connection.vendor, table=table, since=adapted)
            cursor.execute(sql, params)
            written += cursor.rowcount
        # The triggers kept the weeks in step; they are summed again from the days all the
        # same (whole weeks, from the one holding `since`), so a rebuild repairs them too.
        monday = None if day is None else day - timedelta(days=day.weekday())
        empty_from(DurationWeekly, field="week", since=monday)
        params = [] if monday is None else [connection.ops.adapt_datefield_value(monday)]
        cursor.execute(weekly_fill_sql(connection.vendor, since=monday is not None), params)
    return written


def weekly_fill_sql(vendor: str, *, since: bool = False) -> str:
    """The INSERT that fills the weekly histograms from the daily ones (all, or the days from
    a Monday given as parameter on); also run by migration reports 0017."""
    week = (
        "date_trunc('week', d.day)::date"
        if vendor == "postgresql"
        else "date(d.day, '-6 days', 'weekday 1')"
    )
    where = "WHERE d.day >= %s" if since else ""
    return f"""
        INSERT INTO reports_durationweekly
            (week, metric, team_id, assignee_id, intent, seconds, slot, durations, fraction_us)
        SELECT {week}, d.metric, d.team_id, d.assignee_id, d.intent, d.seconds, d.slot,
               SUM(d.durations), SUM(d.fraction_us)
        FROM reports_durationdaily d {where}
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        HAVING SUM(d.durations) <> 0 OR SUM(d.fraction_us) <> 0
    """


# --- reading -----------------------------------------------------------------------------------

GROUP_COLUMNS = {"team_id": "team", "assignee_id": "assignee", "intent": "intent"}


def sees_everything(report: ReportFilter) -> bool:
    """No slice, and a viewer who may see every conversation: the roll-ups' and histograms'
    keys carry only each figure's own group, so they hold exactly the report's rows."""
    sliced = (
        report.platform
        or report.account_id
        or report.team_id
        or report.agent_id
        or report.intent is not None
    )
    return not sliced and (report.user is None or can_see_all_conversations(report.user))


def histograms_answer(report: ReportFilter) -> bool:
    """Whether the percentiles may come from the histograms (tests turn this off alone to
    compare with the rows)."""
    return sees_everything(report)


def _utc_days(start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The whole UTC days inside [start, end), as instants; None when there is none."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = datetime.combine(start.date(), time(), tzinfo=UTC)
    if first < start:
        first += timedelta(days=1)
    last = datetime.combine(end.date(), time(), tzinfo=UTC)
    return (first, last) if first < last else None


def _histogram_ranges(first: date, last: date) -> list[tuple[str, str, date, date]]:
    """The histogram rows holding the UTC days [first, last): (table, its date column,
    from, to) — the whole ISO weeks inside from the weekly table, the days around them from
    the daily one."""
    monday = first + timedelta(days=-first.weekday() % 7)
    last_monday = last - timedelta(days=last.weekday())
    if monday >= last_monday:
        return [("reports_durationdaily", "day", first, last)]
    ranges = [("reports_durationweekly", "week", monday, last_monday)]
    ranges += [
        ("reports_durationdaily", "day", start, end)
        for start, end in ((first, monday), (last_monday, last))
        if start < end
    ]
    return ranges


def _histogram_sql(
    measure: Measure, report: ReportFilter, group: str | None
) -> tuple[str, list[Any]]:
    """SELECT g, seconds, n, f: the period's durations per group and bucket (the whole UTC
    days from the histograms, the partial days at the edges from the rows, grouped alike),
    buckets with no duration left out."""
    vendor = connection.vendor
    key = group or "NULL"
    days = _utc_days(report.start, report.end)
    parts, params = [], []
    edges = [(report.start, report.end)]
    if days is not None:
        for table, column, first, last in _histogram_ranges(days[0].date(), days[1].date()):
            parts.append(
                f"SELECT {key} AS g, seconds, durations, fraction_us FROM {table}"
                f" WHERE metric = %s AND {column} >= %s AND {column} < %s"
            )
            params += [
                int(measure.metric),
                connection.ops.adapt_datefield_value(first),
                connection.ops.adapt_datefield_value(last),
            ]
        edges = [(report.start, days[0]), (days[1], report.end)]
    edges = [(start, end) for start, end in edges if start < end]
    if edges:
        period = " OR ".join(f"({measure.period} >= %s AND {measure.period} < %s)" for _ in edges)
        rows = (
            f"{measure_rows_sql(vendor, measure)} FROM {measure.table}"
            f" WHERE {measure.where.format(p='')} AND ({period})"
        )
        parts.append(
            f"SELECT {'m.' + group if group else 'NULL'} AS g, m.seconds,"
            " 1 AS durations, m.fraction_us"
            f" FROM ({measure_buckets_sql(vendor, measure, rows)}) m"
        )
        params += [_adapt(moment) for edge in edges for moment in edge]
    cast = "::bigint" if vendor == "postgresql" else ""
    sql = (
        f"SELECT g, seconds, SUM(durations){cast} AS n, SUM(fraction_us){cast} AS f"
        f" FROM ({' UNION ALL '.join(parts)}) x GROUP BY g, seconds HAVING SUM(durations) <> 0"
    )
    return sql, params


def duration_counts(
    metric: int, report: ReportFilter, *, group: str | None = None
) -> dict[Any, int]:
    """How many rows the metric counts in the period, per value of `group` (see
    duration_percentiles)."""
    sql, params = _histogram_sql(BY_METRIC[metric], report, group)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT g, SUM(n) FROM ({sql}) h GROUP BY g", params)
        rows = cursor.fetchall()
    return {_shown(group, key): int(total) for key, total in rows if total}


def _shown(group: str | None, key: Any) -> Any:
    # Team and assignee 0 stand for none.
    return key if group == "intent" else (key or None)


def _adapt(moment: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def _ranks(count: int, fraction: float) -> tuple[int, int, float]:
    """The two ranks (0-based) percentile_cont interpolates between, and the weight."""
    position = fraction * (count - 1)
    low = math.floor(position)
    return low, min(low + 1, count - 1), position - low


def duration_percentiles(
    metric: int, report: ReportFilter, fractions: list[float], *, group: str | None = None
) -> dict[Any, dict[Any, Any]]:
    """Per value of `group` ("team_id", "assignee_id", "intent" as the metric keeps; None:
    one group under the key None): `n`, the durations counted, and each fraction's
    percentile in seconds (rounded to the millisecond, as reports.db rounds). Groups without
    a duration are left out; team and assignee 0 read as None. The caller checks
    histograms_answer first.

    The database sums the histograms and returns only the buckets that hold a wanted rank
    (running totals per group), so a month of buckets never travels to Python; a bucket's
    exact value is read from its rows of the period (_look_up)."""
    measure = BY_METRIC[metric]
    sql, params = _histogram_sql(measure, report, group)
    # A bucket holds rank r when upto - n <= r < upto. The ranks around fraction * (total - 1)
    # are its floor and the next; one more each side, in case the database's arithmetic
    # rounds the product the other way from Python's (_ranks decides).
    low = "FLOOR(%s * (total - 1))"
    holds = [f"(upto - n <= {low} + 2 AND {low} - 1 < upto)" for _ in fractions]
    wanted_sql = f"""
        SELECT g, seconds, n, f, upto, total FROM (
            SELECT g, seconds, n, f,
                   SUM(n) OVER (PARTITION BY g ORDER BY seconds) AS upto,
                   SUM(n) OVER (PARTITION BY g) AS total
            FROM ({sql}) h
        ) c WHERE {" OR ".join(holds)}
    """
    fraction_params = [value for fraction in fractions for value in (fraction, fraction)]
    with connection.cursor() as cursor:
        cursor.execute(wanted_sql, params + fraction_params)
        rows = cursor.fetchall()
    buckets: dict[Any, list[tuple[int, int, int, int]]] = defaultdict(list)
    totals: dict[Any, int] = {}
    for key, seconds, n, fraction_us, upto, total in rows:
        buckets[key].append((int(upto) - int(n), int(n), int(seconds), int(fraction_us)))
        totals[key] = int(total)

    def locate(key: Any, rank: int) -> tuple[int, int, bool]:
        """(bucket, index within it, whether all its durations are exactly its lower bound:
        microseconds past it summing to 0, none being negative)."""
        for first, n, seconds, fraction_us in buckets[key]:
            if first <= rank < first + n:
                return seconds, rank - first, fraction_us == 0
        raise ValueError(f"rank {rank} not among the buckets read")

    # (group, bucket) -> the first and last index within it wanted (0-based, smallest first)
    wanted: dict[tuple[Any, int], tuple[int, int]] = {}
    plans: dict[Any, list] = {}
    for key, total in totals.items():
        plan = []
        for fraction in fractions:
            low, high, weight = _ranks(total, fraction)
            plan.append((fraction, locate(key, low), locate(key, high), weight))
            for second, index, exact in plan[-1][1:3]:
                if not exact:
                    first, last = wanted.get((key, second), (index, index))
                    wanted[(key, second)] = (min(first, index), max(last, index))
        plans[key] = plan
    looked_up = _look_up(measure, report, group, wanted)

    def value(key: Any, located: tuple[int, int, bool]) -> Decimal:
        second, index, exact = located
        if exact:
            return Decimal(second)
        return Decimal(looked_up[(key, second)][index]) / 1_000_000

    result = {}
    for key, plan in plans.items():
        row: dict[Any, Any] = {"n": totals[key]}
        for fraction, low, high, weight in plan:
            low_value, high_value = value(key, low), value(key, high)
            exact = low_value + (high_value - low_value) * Decimal(repr(weight))
            row[fraction] = round(float(exact), 3)
        result[_shown(group, key)] = row
    return result


def _look_up(
    measure: Measure,
    report: ReportFilter,
    group: str | None,
    wanted: dict[tuple[Any, int], tuple[int, int]],
) -> dict[tuple[Any, int], dict[int, int]]:
    """The durations (µs) at the wanted indices (first to last, 0-based, smallest first) of
    each wanted (group, bucket) of the period, by index. One query whatever the number of
    buckets: on PostgreSQL one statement planned once (a LATERAL per bucket over arrays of
    them), each an index range (bucket, [intent,] start) sorted on the bare interval, only
    the wanted rows converted to microseconds and returned; on SQLite a UNION ALL."""
    if not wanted:
        return {}
    keys = sorted(wanted, key=repr)
    if connection.vendor == "postgresql":
        sql, params = _look_up_sql_postgresql(measure, report, group, keys, wanted)
    else:
        sql, params = _look_up_sql_sqlite(measure, report, group, keys, wanted)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found: dict[tuple[Any, int], dict[int, int]] = {key: {} for key in keys}
    by_part: dict[int, list[int]] = defaultdict(list)
    for part, value in rows:
        by_part[int(part)].append(int(value))
    for part, values in by_part.items():
        first = wanted[keys[part]][0]
        for offset, value in enumerate(sorted(values)):
            found[keys[part]][first + offset] = value
    return found


def _look_up_where(measure: Measure, vendor: str) -> str:
    end, start = measure.end, measure.start
    return (
        f"{measure.where.format(p='')} AND {measure.period} >= %s AND {measure.period} < %s"
        f" AND {bucket_sql(vendor, end, start)} = "
    )


def _look_up_sql_postgresql(
    measure: Measure,
    report: ReportFilter,
    group: str | None,
    keys: list[tuple[Any, int]],
    wanted: dict[tuple[Any, int], tuple[int, int]],
) -> tuple[str, list[Any]]:
    # The parts as arrays (bucket, first index, how many[, group]), unnested WITH ORDINALITY:
    # one plan for any number of them (16 UNION ALL parts took longer to plan at 10 k posts
    # than to run). Rows are ordered by the interval itself, exact and cheaper to compare
    # than the numeric epoch; only the rows returned are converted.
    end, start = measure.end, measure.start
    columns = "bucket, first, how_many"
    unnested = "%s::bigint[], %s::int[], %s::int[]"
    params: list[Any] = [_adapt(report.start), _adapt(report.end)]
    array_params: list[Any] = [
        [second for _, second in keys],
        [wanted[key][0] for key in keys],
        [wanted[key][1] - wanted[key][0] + 1 for key in keys],
    ]
    where = _look_up_where(measure, "postgresql") + "w.bucket"
    if group is not None:
        column = getattr(measure, GROUP_COLUMNS[group]).format(p="")
        where += f" AND {column} = w.grp"
        columns += ", grp"
        unnested += ", %s::text[]" if group == "intent" else ", %s::bigint[]"
        array_params.append([key for key, _ in keys])
    sql = (
        f"SELECT w.part - 1, (EXTRACT(EPOCH FROM s.d) * 1000000)::bigint"
        f" FROM unnest({unnested}) WITH ORDINALITY AS w({columns}, part)"
        f" CROSS JOIN LATERAL (SELECT {end} - {start} AS d FROM {measure.table}"
        f" WHERE {where} ORDER BY 1 OFFSET w.first LIMIT w.how_many) s"
    )
    return sql, array_params + params


def _look_up_sql_sqlite(
    measure: Measure,
    report: ReportFilter,
    group: str | None,
    keys: list[tuple[Any, int]],
    wanted: dict[tuple[Any, int], tuple[int, int]],
) -> tuple[str, list[Any]]:
    us = duration_us_sql("sqlite", measure.end, measure.start)
    parts, params = [], []
    for number, (key, second) in enumerate(keys):
        first, last = wanted[(key, second)]
        where = _look_up_where(measure, "sqlite") + "%s"
        part_params: list[Any] = [_adapt(report.start), _adapt(report.end), second]
        if group is not None:
            where += f" AND {getattr(measure, GROUP_COLUMNS[group]).format(p='')} = %s"
            part_params.append(key)
        parts.append(
            f"SELECT * FROM (SELECT {number} AS part, {us} AS us FROM {measure.table}"
            f" WHERE {where} ORDER BY 2 LIMIT {last - first + 1} OFFSET {first}) AS part{number}"
        )
        params += part_params
    return " UNION ALL ".join(parts), params
