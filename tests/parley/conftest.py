"""The X account fixture the ingestion tests define, shared with these."""

from tests.ingestion.conftest import x_account  # noqa: F401
