"""Each KPI against the same length of time just before the period: ▲/▼ with how much, and
whether that is better or worse for the customers."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .selectors import ReportFilter

# Where a rise is good news (True), bad news (False) or neither (None), by metric name.
HIGHER_IS_BETTER = {
    "First response within target": True,
    "Positive posts": True,
    "Negative posts": False,
    "Positive : negative": True,
    "CSAT responses": True,
    "CSAT average": True,
    "CSAT satisfied": True,
    "Auto-responses corrected": False,
}
LOWER_IS_BETTER_PREFIXES = (
    "First response, ",
    "Next response, ",
    "Average handling time",
    "Resolution median",
    "Handling time",
)


def previous_period(report: ReportFilter) -> ReportFilter:
    """The same slices over the same length of time, ending where `report` starts."""
    length = report.end - report.start
    return replace(report, start=report.start - length, end=report.start)


def higher_is_better(metric: str) -> bool | None:
    if metric in HIGHER_IS_BETTER:
        return HIGHER_IS_BETTER[metric]
    if metric.startswith(LOWER_IS_BETTER_PREFIXES):
        return False
    return None


@dataclass(frozen=True)
class Compared:
    metric: str
    value: str
    unit: str
    previous: str
    # "▲ 25 %", "▼ 3.5 pts", "=" or "" (nothing to compare with).
    change: str
    # "better", "worse", "same" or "" (a count that is neither, or nothing to compare).
    verdict: str


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def compare(metric: str, value: str, unit: str, previous: str) -> Compared:
    now, before = _number(value), _number(previous)
    if now is None or before is None:
        return Compared(metric, value, unit, previous, "", "")
    delta = now - before
    if abs(delta) < 1e-9:
        return Compared(metric, value, unit, previous, "=", "same")
    arrow = "▲" if delta > 0 else "▼"
    if unit == "%":
        change = f"{arrow} {abs(delta):.1f} pts"
    elif before:
        change = f"{arrow} {abs(delta) / before * 100:.0f} %"
    else:
        change = f"{arrow} {abs(delta):g}"
    good = higher_is_better(metric)
    verdict = "" if good is None else "better" if (delta > 0) == good else "worse"
    return Compared(metric, value, unit, previous, change, verdict)


def compare_rows(
    current: list[tuple[str, str, str]], previous: list[tuple[str, str, str]]
) -> list[Compared]:
    """The period's summary rows, each with the previous period's value of the same metric
    (empty when it had none, e.g. an agent who did not work then)."""
    before = {metric: value for metric, value, _ in previous}
    return [compare(metric, value, unit, before.get(metric, "")) for metric, value, unit in current]
