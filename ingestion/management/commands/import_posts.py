import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ingestion.imports import describe_document, import_export, import_lines, import_webhook_body
from ingestion.json_input import unstorable_reason
from ingestion.models import PlatformAccount


class Command(BaseCommand):
    help = (
        "Import posts from a JSON Lines file, one object per line with platform, external_id, "
        "author, text, created_at and optionally in_reply_to, author_id, author_name, "
        "followers, verified. Bad lines are reported by number and skipped. Also accepts "
        "the platforms' own JSON (an X API v2 or Graph API response body with a `data` list) "
        "with --account, and saved X Account Activity and Meta webhook bodies; bad entries are "
        "reported by position. Exits non-zero when nothing could be imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--account", help="Handle of the platform account to import into.")
        parser.add_argument(
            "--platform", help="The account's platform, when one handle is on several."
        )

    def handle(self, *args, file: Path, account: str | None, platform: str | None, **options):
        target = None
        if account:
            accounts = PlatformAccount.objects.filter(handle=account.lstrip("@"))
            if platform:
                accounts = accounts.filter(platform=platform)
            target = accounts.order_by("pk").first()
            if target is None:
                raise CommandError(f"No platform account with handle {account!r}.")
        document = self._whole_document(file)
        kind = self._kind(file, document) if document is not None else "jsonl_post"
        if kind in {"account_activity", "meta_webhook"}:
            report = import_webhook_body(document, account=target)
            self._summarise(file, report, unit="events")
            return
        export = document if kind == "export" else None
        if export is not None:
            if target is None:
                raise CommandError(
                    "This is an X / Graph API export; say which account it belongs to with "
                    "--account (and --platform if the handle is on several platforms)."
                )
            try:
                with tqdm(total=len(export["data"]), unit="entry", file=self.stderr) as progress:
                    report = import_export(export, account=target, on_item=progress.update)
            except ValueError as error:
                raise CommandError(str(error)) from error
            self._summarise(file, report, unit="entries")
            return
        try:
            # Bytes, so a line that is not UTF-8 is one rejected line, not a failed import.
            with file.open("rb") as lines:
                total = sum(1 for _ in lines)
                lines.seek(0)
                with tqdm(total=total, unit="line", file=self.stderr) as progress:
                    report = import_lines(lines, account=target, on_line=progress.update)
        except FileNotFoundError as error:
            raise CommandError(f"No such file: {file}") from error
        self._summarise(file, report, unit="lines")

    def _whole_document(self, file: Path) -> dict | list | None:
        """The file as one JSON document (a pretty-printed body, an export); None when it is
        JSON Lines of several posts, or broken (the line-by-line import says which line)."""
        try:
            with file.open("rb") as handle:
                if handle.read(64).lstrip()[:1] not in {b"{", b"["}:
                    return None
                handle.seek(0)
                return json.loads(handle.read())
        except FileNotFoundError as error:
            raise CommandError(f"No such file: {file}") from error
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return None

    def _kind(self, file: Path, document: dict | list) -> str:
        try:
            kind = describe_document(document)
        except ValueError as error:
            raise CommandError(f"{file}: {error}.") from error
        if kind != "jsonl_post":
            # A one-line JSON Lines file is checked line by line, like any other.
            problem = unstorable_reason(document)
            if problem:
                raise CommandError(f"{file}: {problem}.")
        return kind

    def _summarise(self, file: Path, report, *, unit: str) -> None:
        for number, reason in report.errors:
            self.stderr.write(f"{file}:{number}: {reason}")
        summary = (
            f"Imported {report.imported} posts, {report.duplicates} already stored, "
            f"{len(report.errors)} {unit} rejected."
        )
        if report.errors and not report.imported and not report.duplicates:
            # Nothing went in: a script running the import must see it failed.
            raise CommandError(f"No post was imported. {summary}")
        style = self.style.WARNING if report.errors else self.style.SUCCESS
        self.stdout.write(style(summary))
