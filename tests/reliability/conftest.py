"""Fixtures the ingestion tests define, shared with these: connected accounts, mocked HTTP."""

from tests.ingestion.conftest import facebook_page, mocked_http, x_account  # noqa: F401
