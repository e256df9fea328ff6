"""The hourly inbound roll-up (reports.models.InboundHourly): reading it for the period
reports, and rebuilding it from the posts.

The triggers of migration reports 0008 keep it exact at every write; these reports read it
instead of scanning a month of posts, so their cost follows the number of hours and accounts,
not the number of posts. It answers what its key can: a period of whole hours, unsliced or
sliced by platform or account, for someone who sees every conversation. Team, agent and intent
are the conversation's and change with it (routing, transfers, corrections): slices by them
read the posts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Model, Sum
from django.utils import timezone

from core.selectors import can_see_all_conversations

from .models import ConversationHourly, InboundHourly

if TYPE_CHECKING:
    from .selectors import ReportFilter

FIGURES = ("posts", "positive", "neutral", "negative", "untriaged")
# What ConversationHourly counts, each summed over hours the same way.
CONVERSATION_FIGURES = (
    "conversations",
    "no_reply",
    "resolved",
    "handled",
    "handling_us",
    "sla_measured",
    "sla_met",
)


def _on_the_hour(moment: datetime) -> bool:
    return moment.minute == moment.second == moment.microsecond == 0


def _whole_hours_for_everyone(report: ReportFilter) -> bool:
    if report.user is not None and not can_see_all_conversations(report.user):
        return False
    start, end = (moment.astimezone(UTC) for moment in (report.start, report.end))
    return _on_the_hour(start) and _on_the_hour(end)


def rollup_answers(report: ReportFilter) -> bool:
    """Whether the inbound roll-up holds exactly the report's inbound posts."""
    sliced = report.team_id or report.agent_id or report.intent is not None
    return not sliced and _whole_hours_for_everyone(report)


def conversation_hours(report: ReportFilter, group: str | None = None) -> list[dict] | None:
    """The period's conversations (by creation) summed per `group` ("assignee_id",
    "team_id", "intent" or None for one row), with `conversations`, `no_reply`, `resolved`,
    `handled`, `handling_seconds`, `sla_measured` and `sla_met`; groups with no conversation
    left out, 0 keys as None. None when the roll-up cannot answer (a partial hour, or a
    viewer limited to some teams)."""
    if not _whole_hours_for_everyone(report):
        return None
    rows = ConversationHourly.objects.filter(hour__gte=report.start, hour__lt=report.end)
    if report.platform:
        from ingestion.models import PlatformAccount

        rows = rows.filter(
            account_id__in=PlatformAccount.objects.filter(platform=report.platform).values("pk")
        )
    if report.account_id:
        rows = rows.filter(account_id=report.account_id)
    if report.team_id:
        rows = rows.filter(team_id=report.team_id)
    if report.agent_id:
        rows = rows.filter(assignee_id=report.agent_id)
    if report.intent is not None:
        rows = rows.filter(intent=report.intent)
    grouped = rows.values(group) if group else rows.values()
    sums = {figure: Sum(figure) for figure in CONVERSATION_FIGURES}
    result = []
    for row in grouped.annotate(**sums) if group else [rows.aggregate(**sums)]:
        if not row["conversations"]:
            continue
        row = {key: value or 0 for key, value in row.items()}
        if group:
            row[group] = row[group] or None
        row["handling_seconds"] = row.pop("handling_us") / 1_000_000
        result.append(row)
    return result


def inbound_hours(report: ReportFilter) -> list[dict[str, Any]] | None:
    """The period's inbound posts per local hour start (`hour`, aware, in the current time
    zone), account and platform, with their sentiments; None when the roll-up cannot answer
    (see rollup_answers, or a time zone whose hours do not start on UTC's, such as +05:30)."""
    if not rollup_answers(report):
        return None
    rows = InboundHourly.objects.filter(hour__gte=report.start, hour__lt=report.end)
    if report.platform:
        rows = rows.filter(platform=report.platform)
    if report.account_id:
        rows = rows.filter(account_id=report.account_id)
    result = []
    for row in (
        rows.values("hour", "account_id", "platform")
        .annotate(**{figure: Sum(figure) for figure in FIGURES})
        .order_by()
    ):
        if not row["posts"]:
            continue  # every post of that hour was deleted or moved away
        # The server's zone, not the reading agent's: every supervisor reads the same days.
        local = timezone.localtime(row["hour"], timezone.get_default_timezone())
        if local.minute:
            return None
        # 0 is the trigger's stand-in for a post without an account.
        result.append({**row, "hour": local, "account_id": row["account_id"] or None})
    return result


def sync_first_response_sla_sql(vendor: str, *, since: datetime | None) -> tuple[str, list]:
    """The UPDATE that sets each conversation's first_response_sla (opened from `since`, all
    without it) from its first-response timer, as the triggers of migration reports 0011 keep
    it: the state the timer stopped in, NULL while it runs or without one."""
    outcome = (
        "(SELECT CASE WHEN t.stopped_at IS NOT NULL THEN t.state END FROM sla_slatimer t"
        " WHERE t.conversation_id = helpdesk_conversation.id AND t.kind = 'first_response')"
    )
    distinct = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    where, params = "", []
    if since is not None:
        where, params = "AND created_at >= %s", [since]
    return (
        f"UPDATE helpdesk_conversation SET first_response_sla = {outcome} "
        f"WHERE first_response_sla {distinct} {outcome} {where}",
        params,
    )


def rebuild_conversation_rollups_sql(
    vendor: str, *, since: datetime | None, sla: bool = True
) -> tuple[str, list]:
    """The INSERT that fills the conversation roll-up (slot 0) from the conversations
    opened from `since` (all without it); also run by migrations reports 0010 (before the
    roll-up had the SLA columns: `sla` False) and 0011."""
    if vendor == "postgresql":
        hour = "date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        handling = "(EXTRACT(EPOCH FROM resolved_at - first_response_at) * 1000000)::bigint"
    else:
        hour = "strftime('%Y-%m-%d %H:00:00', created_at)"
        handling = (
            "CAST(ROUND((julianday(resolved_at) - julianday(first_response_at))"
            " * 86400000000.0) AS INTEGER)"
        )
    handled = "resolved_at IS NOT NULL AND first_response_at IS NOT NULL"
    where, params = "", []
    if since is not None:
        where, params = "WHERE created_at >= %s", [since]
    sla_columns = sla_figures = ""
    if sla:
        sla_columns = ", sla_measured, sla_met"
        sla_figures = (
            ", SUM(CASE WHEN needs_reply AND first_response_sla IS NOT NULL THEN 1 ELSE 0 END)"
            ", SUM(CASE WHEN needs_reply AND first_response_sla = 'met' THEN 1 ELSE 0 END)"
        )
    sql = f"""
        INSERT INTO reports_conversationhourly
            (hour, account_id, team_id, assignee_id, intent, slot,
             conversations, no_reply, resolved, handled, handling_us{sla_columns})
        SELECT {hour}, account_id, COALESCE(team_id, 0), COALESCE(assignee_id, 0), intent, 0,
               COUNT(*),
               SUM(CASE WHEN NOT needs_reply OR intent = 'spam' THEN 1 ELSE 0 END),
               SUM(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN {handled} THEN 1 ELSE 0 END),
               COALESCE(SUM(CASE WHEN {handled} THEN {handling} ELSE 0 END), 0){sla_figures}
        FROM helpdesk_conversation {where}
        GROUP BY 1, 2, 3, 4, 5
    """
    if params:
        sql = sql.replace("%Y-%m-%d %H", "%%Y-%%m-%%d %%H")
    return sql, params


def rebuild_rollups(*, since: datetime | None = None) -> int:
    """Recompute both roll-ups (see rebuild_inbound_rollups) and the daily duration
    histograms (reports.durations); returns the rows written."""
    from .durations import rebuild_duration_histograms

    return (
        rebuild_inbound_rollups(since=since)
        + rebuild_conversation_rollups(since=since)
        + rebuild_duration_histograms(since=since)
    )


def lock_for_rebuild(cursor: Any, model: type[Model]) -> None:
    """On PostgreSQL, lock a table kept by triggers EXCLUSIVE before rebuilding it: a writer
    whose insert already ran its trigger holds ROW EXCLUSIVE on it, so the rebuild waits for
    it to commit and then counts its rows once; a later writer's trigger waits for the
    rebuild to commit and adds its own rows after. Nothing is counted twice or lost while
    ingest runs. (SQLite has one writer at a time.)"""
    if connection.vendor == "postgresql":
        cursor.execute(f"LOCK TABLE {model._meta.db_table} IN EXCLUSIVE MODE")


def empty_from(model: type[Model], *, field: str, since: Any) -> None:
    """Delete a kept table's rows from `since` on (`field` >= since), or all of them."""
    model.objects.filter(**({} if since is None else {f"{field}__gte": since})).delete()


def rebuild_conversation_rollups(*, since: datetime | None = None) -> int:
    """Recompute the conversation roll-up from the conversations, as rebuild_inbound_rollups
    does for the posts (same lock)."""
    if since is not None:
        since = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    adapted = None if since is None else connection.ops.adapt_datetimefield_value(since)
    with transaction.atomic(), connection.cursor() as cursor:
        lock_for_rebuild(cursor, ConversationHourly)
        # The conversations' copy of their SLA outcome first: its triggers' deltas land in
        # the hours rebuilt below.
        sql, params = sync_first_response_sla_sql(connection.vendor, since=adapted)
        cursor.execute(sql, params or None)
        empty_from(ConversationHourly, field="hour", since=since)
        sql, params = rebuild_conversation_rollups_sql(connection.vendor, since=adapted)
        cursor.execute(sql, params or None)
        return cursor.rowcount


def rebuild_inbound_rollups(*, since: datetime | None = None) -> int:
    """Recompute the roll-up from the posts (all of it, or the hours from `since` on), in
    one transaction, with the table locked (lock_for_rebuild); returns the number of
    roll-up rows written."""
    if since is not None:
        since = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    with transaction.atomic(), connection.cursor() as cursor:
        lock_for_rebuild(cursor, InboundHourly)
        empty_from(InboundHourly, field="hour", since=since)
        hour = (
            "date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
            if connection.vendor == "postgresql"
            else "strftime('%%Y-%%m-%%d %%H:00:00', created_at)"
        )
        where, params = "direction = 'inbound'", []
        if since is not None:
            where += " AND created_at >= %s"
            params.append(connection.ops.adapt_datetimefield_value(since))
        cursor.execute(
            f"""
            INSERT INTO reports_inboundhourly
                (hour, account_id, platform, slot, posts, positive, neutral, negative, untriaged)
            SELECT {hour}, COALESCE(account_id, 0), platform, 0, COUNT(*),
                   SUM(CASE WHEN sentiment = 'positive' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN sentiment = 'neutral' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN sentiment = 'negative' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN sentiment NOT IN ('positive', 'neutral', 'negative')
                       THEN 1 ELSE 0 END)
            FROM helpdesk_post WHERE {where}
            GROUP BY 1, 2, 3
            """,
            params,
        )
        return cursor.rowcount
