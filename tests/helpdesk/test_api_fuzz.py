"""A property-based run of schemathesis against the served OpenAPI schema: no input the schema
allows — or nearly allows — may make the API answer 5xx."""

import re
import subprocess
import sys

import pytest

from tests.e2e.demo_server import demo_server

pytestmark = pytest.mark.fuzz

EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def api_server():
    # No demo feed: the run must not race a growing database for its numbers.
    with demo_server(posts_per_minute=0, poll_seconds=60) as server:
        yield server


def test_schemathesis_finds_no_server_errors(api_server):
    token = api_server.manage("drf_create_token", "agent").stdout.split()[2]

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            api_server.url("/api/schema/"),
            "--header",
            f"Authorization: Token {token}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--request-timeout",
            "10",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )

    report = run.stdout + run.stderr
    print(report)
    assert run.returncode == 0, report + "\n" + api_server.log()[-5000:]
    assert re.search(r"\b\d+ passed\b|No issues found", report), report
