"""Recompute the reports' roll-ups from the posts: after a bulk import that bypassed the
database (restoring a dump without triggers), or to check them.

    manage.py reports_rebuild_rollups [--since YYYY-MM-DD]
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports.rollups import rebuild_rollups


class Command(BaseCommand):
    help = (
        "Recompute the hourly roll-ups and the daily duration histograms from the posts,"
        " conversations and customer turns (all, or from --since)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since", help="First day to recompute (YYYY-MM-DD, local time); default: all."
        )

    def handle(self, *args, since: str | None = None, **options):
        start = None
        if since:
            try:
                day = date.fromisoformat(since)
            except ValueError as error:
                raise CommandError(f"--since takes a day as YYYY-MM-DD, not {since!r}.") from error
            start = timezone.make_aware(datetime.combine(day, time.min))
        rows = rebuild_rollups(since=start)
        scope = f"from {since} on" if since else "for all history"
        self.stdout.write(
            f"Rebuilt the hourly roll-ups and daily duration histograms {scope}:"
            f" {rows} roll-up rows."
        )
