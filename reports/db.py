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
        # The column names, when given as names: a percentile then keeps the rows where
        # both are set without computing the duration a second time (measured_rows).
        self.columns = (end, start) if isinstance(end, str) and isinstance(start, str) else None
        end = F(end) if isinstance(end, str) else end
        start = F(start) if isinstance(start, str) else start
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT returns numeric, and numeric
        # arithmetic on every row of a month made the percentiles three times slower
        # (docs/performance.md); date_part computes the same epoch in double precision.
        return super().as_sql(
            compiler,
            connection,
            template="date_part('epoch', %(expressions)s)",
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


# Up to this many groups, grouped_percentiles FILTERs each in one pass; beyond, the query
# (three figures per group) would grow past what one pass saves, and GROUP BY sorts instead.
FILTERED_GROUPS_MAX = 64


class PercentilesCont(Aggregate):
    """Postgres' continuous percentiles of an expression at several fractions, as an array:
    one sort of the rows for all of them (one percentile_cont per fraction sorts once each)."""

    function = "percentile_cont"
    template = "%(function)s(%(fractions)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fractions: Iterable[float], **extra) -> None:
        from django.contrib.postgres.fields import ArrayField

        fractions = [float(f) for f in fractions]
        if not all(0 <= f <= 1 for f in fractions):
            raise ValueError("A percentile fraction is between 0 and 1.")
        super().__init__(
            expression,
            fractions=f"ARRAY[{', '.join(repr(f) for f in fractions)}]::double precision[]",
            output_field=ArrayField(FloatField()),
            **extra,
        )


def has_percentile_cont() -> bool:
    return connection.vendor == "postgresql"


def measured_rows(queryset: QuerySet, field: str) -> Q:
    """The rows where the annotation `field` is not NULL. For a SecondsBetween of two
    columns, tested on the columns: the duration is then computed once per row, for the
    sort, instead of once more for the filter."""
    annotation = queryset.query.annotations.get(field)
    columns = getattr(annotation, "columns", None)
    if columns is None:
        return Q(**{f"{field}__isnull": False})
    return Q(**{f"{column}__isnull": False for column in columns})


def _quantiles(values: list[float] | None, fractions: list[float]) -> dict[float, float | None]:
    return {f: _round(values[i]) if values else None for i, f in enumerate(fractions)}


def percentiles(
    queryset: QuerySet, field: str, fractions: Iterable[float]
) -> dict[float, float | None]:
    """Continuous percentiles (linear interpolation, as percentile_cont) of a numeric
    annotation of `queryset`, NULLs ignored. None for an empty set."""
    fractions = list(fractions)
    values = queryset.filter(**{f"{field}__isnull": False})
    if has_percentile_cont():
        row = values.aggregate(_percentiles=PercentilesCont(F(field), fractions=fractions))
        return _quantiles(row["_percentiles"], fractions)
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
    measured = measured_rows(queryset, field) & (where or Q())
    if has_percentile_cont():
        row = queryset.aggregate(
            **aggregates,
            _percentiles=PercentilesCont(F(field), fractions=fractions, filter=measured),
        )
        return row, _quantiles(row.pop("_percentiles"), fractions)
    row = queryset.aggregate(**aggregates) if aggregates else {}
    return row, percentiles(queryset.filter(measured), field, fractions)


def grouped_percentiles(
    queryset: QuerySet,
    group: str,
    field: str,
    fractions: Iterable[float],
    *,
    groups: Iterable[Any] | None = None,
    **aggregates: Aggregate,
) -> list[dict[str, Any]]:
    """Per value of `group` (ordered by it): the `aggregates` and the percentiles of `field`
    (under the keys of `fractions`); groups without a row are left out. One query on
    Postgres, one query per group and percentile lookups on SQLite.

    `groups`, when the caller knows them (a superset of the values present, e.g. from a
    roll-up), lets Postgres compute every group in one pass with a FILTER per group instead
    of sorting a month of rows by group first (the text sort of GROUP BY intent cost more
    than the percentiles themselves)."""
    fractions = list(fractions)
    groups = None if groups is None else list(groups)
    measured = measured_rows(queryset, field)
    if has_percentile_cont() and groups is not None and len(groups) <= FILTERED_GROUPS_MAX:
        return _filtered_groups(queryset, group, field, fractions, groups, aggregates)
    grouped = queryset.values(group).order_by(group)
    if has_percentile_cont():
        rows = grouped.annotate(
            **aggregates,
            _percentiles=PercentilesCont(F(field), fractions=fractions, filter=measured),
        )
        return [
            {
                **{k: v for k, v in row.items() if k != "_percentiles"},
                **_quantiles(row["_percentiles"], fractions),
            }
            for row in rows
        ]
    return [
        {**row, **percentiles(queryset.filter(**{group: row[group]}), field, fractions)}
        for row in grouped.annotate(**aggregates)
    ]


def _filtered_groups(
    queryset: QuerySet,
    group: str,
    field: str,
    fractions: list[float],
    groups: list[Any],
    aggregates: dict[str, Aggregate],
) -> list[dict[str, Any]]:
    """grouped_percentiles over known groups: one aggregate row, each figure FILTERed to its
    group, so the rows are read once and sorted only within each group's percentile."""
    from django.db.models import Count

    if not groups:
        return []
    measured = measured_rows(queryset, field)
    figures: dict[str, Aggregate] = {}
    for index, value in enumerate(groups):
        member = Q(**{f"{group}__isnull": True}) if value is None else Q(**{group: value})
        figures[f"_rows{index}"] = Count("pk", filter=member)
        figures[f"_percentiles{index}"] = PercentilesCont(
            F(field), fractions=fractions, filter=member & measured
        )
        for name, aggregate in aggregates.items():
            copy = aggregate.copy()
            copy.filter = member & copy.filter if copy.filter is not None else member
            figures[f"{name}{index}"] = copy
    row = queryset.aggregate(**figures)
    result = [
        {
            group: value,
            **{name: row[f"{name}{index}"] for name in aggregates},
            **_quantiles(row[f"_percentiles{index}"], fractions),
        }
        for index, value in enumerate(groups)
        if row[f"_rows{index}"]
    ]
    # As GROUP BY ... ORDER BY group would return them (NULL last).
    return sorted(result, key=lambda item: (item[group] is None, item[group]))
