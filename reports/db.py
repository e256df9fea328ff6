"""Database helpers for the reports: durations in seconds and percentiles, computed by the
database on Postgres and SQLite alike.

Postgres has `percentile_cont`; SQLite has no percentile aggregate, so there the same
continuous percentile is read from the ordered rows with two OFFSET lookups, never loading the
whole column into Python. On Postgres the percentiles ride along with the other figures of the
same rows (one scan, FILTER per figure, GROUP BY for per-group percentiles).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Expression, F, FloatField, Func, Q, QuerySet


class SecondsBetween(Func):
    """`end - start` in seconds, as a float (NULL when either is NULL)."""

    arity = 2
    output_field = FloatField()

    def __init__(self, end: str | Expression, start: str | Expression, **extra) -> None:
        end = F(end) if isinstance(end, str) else end
        start = F(start) if isinstance(start, str) else start
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
            arg_joiner=" - ",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


class PercentileCont(Aggregate):
    """Postgres' continuous percentile of an expression (0 <= fraction <= 1)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile fraction is between 0 and 1.")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def has_percentile_cont() -> bool:
    return connection.vendor == "postgresql"


def percentiles(
    queryset: QuerySet, field: str, fractions: Iterable[float]
) -> dict[float, float | None]:
    """Continuous percentiles (linear interpolation, as percentile_cont) of a numeric
    annotation of `queryset`, NULLs ignored. None for an empty set."""
    fractions = list(fractions)
    values = queryset.filter(**{f"{field}__isnull": False})
    if has_percentile_cont():
        row = values.aggregate(
            **{f"p{i}": PercentileCont(F(field), fraction=f) for i, f in enumerate(fractions)}
        )
        return {f: _round(row[f"p{i}"]) for i, f in enumerate(fractions)}
    ordered = values.order_by(field).values_list(field, flat=True)
    count = ordered.count()
    result: dict[float, float | None] = {}
    for fraction in fractions:
        if count == 0:
            result[fraction] = None
            continue
        position = fraction * (count - 1)
        low_index = math.floor(position)
        pair = list(ordered[low_index : low_index + 2])
        low = pair[0]
        high = pair[1] if len(pair) > 1 else low
        result[fraction] = _round(low + (high - low) * (position - low_index))
    return result


def _round(value: float | None) -> float | None:
    # julianday arithmetic on SQLite leaves sub-millisecond noise; nobody reports below 1 ms.
    return None if value is None else round(float(value), 3)


def aggregate_with_percentiles(
    queryset: QuerySet,
    field: str,
    fractions: Iterable[float],
    *,
    where: Q | None = None,
    **aggregates: Aggregate,
) -> tuple[dict[str, Any], dict[float, float | None]]:
    """`queryset.aggregate(**aggregates)` and the percentiles of `field` over the rows matching
    `where` (all rows without it): one query on Postgres."""
    fractions = list(fractions)
    measured = Q(**{f"{field}__isnull": False}) & (where or Q())
    if has_percentile_cont():
        row = queryset.aggregate(
            **aggregates,
            **{
                f"_p{i}": PercentileCont(F(field), fraction=f, filter=measured)
                for i, f in enumerate(fractions)
            },
        )
        quantiles = {f: _round(row.pop(f"_p{i}")) for i, f in enumerate(fractions)}
        return row, quantiles
    row = queryset.aggregate(**aggregates) if aggregates else {}
    return row, percentiles(queryset.filter(measured), field, fractions)


def grouped_percentiles(
    queryset: QuerySet, group: str, field: str, fractions: Iterable[float], **aggregates: Aggregate
) -> list[dict[str, Any]]:
    """Per value of `group` (ordered by it): the `aggregates` and the percentiles of `field`
    (under the keys of `fractions`); one GROUP BY query on Postgres, one query per group and
    percentile lookups on SQLite."""
    fractions = list(fractions)
    grouped = queryset.values(group).order_by(group)
    if has_percentile_cont():
        rows = grouped.annotate(
            **aggregates,
            **{
                f"_p{i}": PercentileCont(
                    F(field), fraction=f, filter=Q(**{f"{field}__isnull": False})
                )
                for i, f in enumerate(fractions)
            },
        )
        return [
            {
                **{k: v for k, v in row.items() if not k.startswith("_p")},
                **{f: _round(row[f"_p{i}"]) for i, f in enumerate(fractions)},
            }
            for row in rows
        ]
    return [
        {**row, **percentiles(queryset.filter(**{group: row[group]}), field, fractions)}
        for row in grouped.annotate(**aggregates)
    ]
