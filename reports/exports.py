"""Reports as CSV: streamed row by row, so a year of conversations never sits in memory, and
safe to open in a spreadsheet (no cell can start a formula).

Cells carry machine values, for spreadsheets and scripts alike: instants in ISO 8601 UTC
("2026-12-02T00:49:03Z"), codes rather than labels, handles without their "@" (the column
says what they are). So only text people wrote can start like a formula, and only such a
cell gets the guarding apostrophe.

A report that lists instants also gives them as wall-clock times in the agent's time zone
("2026-12-01 19:49:03", in columns ending "_local", after a `local_time_zone` column naming
the zone), appended after the UTC columns so scripts that read columns by position still work.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.utils import timezone

from . import selectors
from .db import SecondsBetween
from .selectors import ReportFilter

# Spreadsheets run a cell starting with these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# A number ("-3.5", "+44") is read as a number, not run: it needs no guard.
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value)
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def local_wall_clock(value: datetime | None, zone: tzinfo) -> str:
    """An instant as a wall-clock time in `zone`, as spreadsheets read a date and time."""
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(value: datetime) -> str:
    """An instant as ISO 8601 in UTC, with a Z: what spreadsheets and scripts parse alike."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Echo:
    """A file-like object that hands back what the csv writer writes."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}"


def summary_rows(kpis: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The headline numbers as (metric, value, unit): the reports page shows exactly these,
    and the summary CSV exports exactly these."""
    first = kpis["first_response"]
    nxt = kpis["next_response"]
    handling = kpis["handling_time"]
    csat = kpis["csat"]
    sentiment = kpis["sentiment"]
    ratio = sentiment["positive_to_negative"]
    rows = [
        ("Conversations", str(first["conversations"]), "count"),
        ("Answered", str(first["answered"]), "count"),
        ("First response, median", minutes(first["median_seconds"]), "minutes"),
        ("First response, p90", minutes(first["p90_seconds"]), "minutes"),
        ("First response within target", percent(first["within_target"]), "%"),
        ("Next response, median", minutes(nxt["median_seconds"]), "minutes"),
        ("Next response, p90", minutes(nxt["p90_seconds"]), "minutes"),
        ("Average handling time", minutes(handling["average_seconds"]), "minutes"),
        ("Inbound posts", str(kpis["volume"]["total"]), "count"),
        ("No reply needed", percent(kpis["no_reply"]["share"]), "%"),
        ("Positive posts", str(sentiment["positive"]), "count"),
        ("Negative posts", str(sentiment["negative"]), "count"),
        ("Positive : negative", "" if ratio is None else f"{ratio:.2f}", "ratio"),
        ("CSAT responses", str(csat["responses"]), "count"),
        (
            "CSAT average",
            "" if csat["average_score"] is None else f"{csat['average_score']:.2f}",
            "of 5",
        ),
        ("CSAT satisfied", percent(csat["satisfied_share"]), "%"),
        ("Auto-response rate", percent(kpis["auto_responses"]["rate"]), "%"),
        ("Auto-responses corrected", percent(kpis["auto_responses"]["correction_rate"]), "%"),
    ]
    for row in kpis["resolution_by_intent"]:
        rows.append(
            (f"Resolution median: {row['label']}", minutes(row["median_seconds"]), "minutes")
        )
    for row in handling["by_agent"]:
        rows.append((f"Handling time: {row['agent']}", minutes(row["average_seconds"]), "minutes"))
    for row in kpis["volume"]["platforms"]:
        rows.append((f"Share of posts: {row['label']}", percent(row["share"]), "%"))
    return rows


def _summary(report: ReportFilter) -> Iterator[Iterable[Any]]:
    yield ("metric", "value", "unit")
    yield from summary_rows(selectors.kpis(report))


def _heatmap(report: ReportFilter) -> Iterator[Iterable[Any]]:
    data = selectors.heatmap(report)
    yield ("weekday", *(f"{hour:02d}:00" for hour in data["hours"]))
    for day, cells in zip(data["weekdays"], data["cells"], strict=True):
        yield (day, *cells)


def _volume(report: ReportFilter) -> Iterator[Iterable[Any]]:
    data = selectors.volume_by_channel(report)
    yield ("platform", "account", "posts", "share %")
    for row in data["accounts"]:
        handle = row["account"].removeprefix("@")
        yield (row["platform"], handle, row["posts"], percent(row["share"]))


def _sentiment(report: ReportFilter) -> Iterator[Iterable[Any]]:
    yield ("day", "positive", "neutral", "negative", "untriaged")
    for day in selectors.sentiment_trend(report)["days"]:
        yield (day["day"], day["positive"], day["neutral"], day["negative"], day["untriaged"])


def _conversations(report: ReportFilter, zone: tzinfo) -> Iterator[Iterable[Any]]:
    """One row per conversation of the period: the raw material of every time KPI."""

    yield (
        "conversation",
        "platform",
        "account",
        "team",
        "assignee",
        "intent",
        "sentiment",
        "created_at",
        "first_response_at",
        "first_response_seconds",
        "resolved_at",
        "resolution_seconds",
        "local_time_zone",
        "created_at_local",
        "first_response_at_local",
        "resolved_at_local",
    )
    zone_name = str(zone)
    rows = (
        selectors.conversations_in_scope(report)
        .filter(created_at__gte=report.start, created_at__lt=report.end)
        .annotate(
            first_seconds=SecondsBetween("first_response_at", "created_at"),
            resolution_seconds=SecondsBetween("resolved_at", "created_at"),
        )
        .order_by("created_at", "pk")
        .values_list(
            "pk",
            "account__platform",
            "account__handle",
            "team__name",
            "assignee__username",
            "intent",
            "sentiment",
            "created_at",
            "first_response_at",
            "first_seconds",
            "resolved_at",
            "resolution_seconds",
        )
    )
    for row in rows.iterator(chunk_size=2000):
        created_at, first_response_at, resolved_at = row[7], row[8], row[10]
        yield (
            *(_iso(cell) for cell in row),
            zone_name,
            local_wall_clock(created_at, zone),
            local_wall_clock(first_response_at, zone),
            local_wall_clock(resolved_at, zone),
        )


def _responsiveness(report: ReportFilter) -> Iterator[Iterable[Any]]:
    yield (
        "account",
        "platform",
        "posts",
        "answered within 15 min",
        "share %",
        "meets 90 %",
        "not yet counted",
        "late and still waiting",
    )
    for row in selectors.very_responsive(user=report.user):
        yield (
            row["account"].removeprefix("@"),
            row["platform_code"],
            row["posts"],
            row["answered_in_time"],
            percent(row["share"]),
            "yes" if row["meets_bar"] else "no",
            row["not_yet_counted"],
            row["late_waiting"],
        )


BREAKDOWN_COLUMNS = (
    "conversations",
    "resolved",
    "first response median (min)",
    "handling time average (min)",
    "first response SLA met %",
    "CSAT responses",
    "CSAT average",
    "CSAT satisfied %",
)


def _breakdown_row(row: dict[str, Any]) -> tuple:
    return (
        row["conversations"],
        row["resolved"],
        minutes(row["first_response_median_seconds"]),
        minutes(row["handling_average_seconds"]),
        percent(row["sla_met"]),
        row["csat_responses"],
        "" if row["csat_average"] is None else f"{row['csat_average']:.2f}",
        percent(row["csat_satisfied"]),
    )


def _agents(report: ReportFilter) -> Iterator[Iterable[Any]]:
    yield ("agent", *BREAKDOWN_COLUMNS)
    for row in selectors.by_agent(report):
        yield (row["agent"], *_breakdown_row(row))


def _teams(report: ReportFilter) -> Iterator[Iterable[Any]]:
    yield ("team", *BREAKDOWN_COLUMNS)
    for row in selectors.by_team(report):
        yield (row["team"], *_breakdown_row(row))


def _iso(value: Any) -> Any:
    if isinstance(value, float):
        # julianday arithmetic on SQLite leaves sub-millisecond noise.
        return round(value, 3)
    if isinstance(value, datetime):
        return iso_utc(value)
    return value.isoformat() if hasattr(value, "isoformat") else value


EXPORTS = {
    "summary": _summary,
    "heatmap": _heatmap,
    "volume": _volume,
    "sentiment": _sentiment,
    "conversations": _conversations,
    "responsiveness": _responsiveness,
    "agents": _agents,
    "teams": _teams,
}


# The reports that list instants, and so also give them in the agent's zone.
ZONED_EXPORTS = {"conversations"}


def export_lines(name: str, report: ReportFilter, *, zone: tzinfo | None = None) -> Iterator[str]:
    """CSV lines of the named report; KeyError for an unknown one. `zone` is the one local
    times are given in: by default the active one (the agent's, in a request). Resolved now,
    not while the lines stream, which may happen on another thread."""
    exporter = EXPORTS[name]
    if name in ZONED_EXPORTS:
        return csv_lines(exporter(report, zone or timezone.get_current_timezone()))
    return csv_lines(exporter(report))
