"""Scrub credentials out of error text stored before redaction existed (see docs/security.md):
poll errors, reply delivery errors, webhook delivery errors and dead letters."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from core.models import Post
from ingestion.models import PlatformAccount, WebhookDelivery
from reliability.models import DeadLetter
from reliability.redaction import redact

# Each model and its text columns that may hold a platform's URL or answer.
STORED_ERRORS = [
    (PlatformAccount, ["last_poll_error"]),
    (Post, ["delivery_error"]),
    (WebhookDelivery, ["error"]),
    (DeadLetter, ["error", "traceback"]),
]
BATCH = 500


class Command(BaseCommand):
    help = "Redact tokens from stored error messages (run once after upgrading; safe to repeat)."

    def handle(self, *args, **options) -> None:
        for model, fields in STORED_ERRORS:
            changed = self._redact(model, fields)
            self.stdout.write(f"{model._meta.label}: {changed} row(s) redacted")

    @staticmethod
    def _redact(model, fields: list[str]) -> int:
        """Rewrite the rows whose text redaction changes, in batches, each in a transaction."""
        changed = 0
        rows = model.objects.order_by("pk")
        last_pk = 0
        while True:
            batch = list(rows.filter(pk__gt=last_pk).values("pk", *fields)[:BATCH])
            if not batch:
                return changed
            last_pk = batch[-1]["pk"]
            with transaction.atomic():
                for row in batch:
                    updates = {
                        name: redact(row[name])
                        for name in fields
                        if row[name] and redact(row[name]) != row[name]
                    }
                    if updates:
                        model.objects.filter(pk=row["pk"]).update(**updates)
                        changed += 1
