"""The connected X account the ingestion tests use, shared with these."""

from tests.ingestion.conftest import x_account  # noqa: F401 (a fixture)
