from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ingestion.imports import import_lines
from ingestion.models import PlatformAccount


class Command(BaseCommand):
    help = (
        "Import posts from a JSON Lines file, one object per line with platform, external_id, "
        "author, text, created_at and optionally in_reply_to, author_id, author_name, "
        "followers, verified. Bad lines are reported by number and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--account", help="Handle of the platform account to import into.")

    def handle(self, *args, file: Path, account: str | None, **options):
        target = None
        if account:
            target = PlatformAccount.objects.filter(handle=account.lstrip("@")).first()
            if target is None:
                raise CommandError(f"No platform account with handle {account!r}.")
        try:
            # Bytes, so a line that is not UTF-8 is one rejected line, not a failed import.
            with file.open("rb") as lines:
                total = sum(1 for _ in lines)
                lines.seek(0)
                with tqdm(total=total, unit="line", file=self.stderr) as progress:
                    report = import_lines(lines, account=target, on_line=progress.update)
        except FileNotFoundError as error:
            raise CommandError(f"No such file: {file}") from error

        for number, reason in report.errors:
            self.stderr.write(f"{file}:{number}: {reason}")
        summary = (
            f"Imported {report.imported} posts, {report.duplicates} already stored, "
            f"{len(report.errors)} lines rejected."
        )
        style = self.style.WARNING if report.errors else self.style.SUCCESS
        self.stdout.write(style(summary))
