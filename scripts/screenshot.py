"""Regenerate docs/inbox.png, the README's picture of the live inbox.

Serves a fresh demo exactly as the browser tests do (tests/e2e/demo_server.py: migrate,
seed_demo, serve on a temporary SQLite file), lets the demo feed fill the inbox, answers one
conversation so the SLA column shows both states, and photographs the inbox in Debian's
chromium. The demo feed is seeded per post, so the picture comes out much the same each time.

    .venv/bin/python scripts/screenshot.py [--output docs/inbox.png]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.e2e.demo_server import (  # noqa: E402
    AGENT_PASSWORD,
    AGENT_USERNAME,
    CHROMIUM,
    CHROMIUM_ARGS,
    demo_server,
)

ROWS_WANTED = 9
VIEWPORT = {"width": 1280, "height": 720}
ROWS = "#conversation-rows tr[data-conversation-id]"


def take_screenshot(output: Path) -> None:
    if not CHROMIUM.exists():
        sys.exit(f"Needs Debian's chromium at {CHROMIUM} (apt-get install chromium).")
    with (
        demo_server(posts_per_minute=60, poll_seconds=1) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(server.url("/login/"))
            page.get_by_label("Username").fill(AGENT_USERNAME)
            page.get_by_label("Password").fill(AGENT_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.locator("#live-status")).to_have_text("live")
            expect(page.locator(ROWS).nth(ROWS_WANTED - 2)).to_be_attached(timeout=30_000)

            # Answer a complaint, so one row reads "answered".
            page.locator(ROWS).filter(has_text="Complaint").last.locator("td.who a").click()
            page.get_by_label(re.compile("Reply to @")).fill(
                "Sorry about that! We're on it, could you DM us?"
            )
            page.get_by_role("button", name="Send reply").click()
            expect(page.locator("#first-response")).to_contain_text("s after the first post")
            page.get_by_role("link", name="Inbox").click()

            expect(page.locator(ROWS).nth(ROWS_WANTED - 1)).to_be_attached(timeout=30_000)
            # Let the highlight of rows that just arrived fade, and the countdowns tick.
            page.wait_for_timeout(2500)
            output.parent.mkdir(parents=True, exist_ok=True)
            try:
                page.screenshot(path=output)
            except PlaywrightError:
                # Headless chromium on a busy machine sometimes fails one capture; once more.
                page.wait_for_timeout(1000)
                page.screenshot(path=output)
        finally:
            browser.close()
    print(f"Wrote {output} ({output.stat().st_size // 1024} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "inbox.png")
    take_screenshot(parser.parse_args().output)


if __name__ == "__main__":
    main()
