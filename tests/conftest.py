"""Shared fixtures, and the skips for tests that need a real PostgreSQL or Redis."""

import pytest
import responses as responses_lib
from django.conf import settings
from django.db import connection, connections

from core.models import Platform
from tests.factories import AgentFactory, PlatformAccountFactory, TeamFactory
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, META_APP_SECRET


def pytest_configure(config):
    # Real hashing costs ~100 ms a login; tests log in a lot and test no hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Login rate limiting needs a request, which Client.login() does not pass; the tests of
    # the login form itself switch it back on.
    settings.AXES_ENABLED = False
    # Channels runs a consumer's queries in executor threads. With persistent connections
    # (CONN_MAX_AGE) each of those threads kept its own after the test, and PostgreSQL then
    # refused to drop the test database ("being accessed by other users"). Here a connection
    # closes at the end of each request and each consumer's database call.
    connections.settings["default"]["CONN_MAX_AGE"] = 0


def pytest_collection_modifyitems(config, items):
    on_postgres = connection.vendor == "postgresql"
    skip_postgres = pytest.mark.skip(
        reason="needs PostgreSQL: set DATABASE_URL=postgres://… "
        "(`make test` does when 127.0.0.1:5432 answers)"
    )
    skip_redis = pytest.mark.skip(
        reason="needs Redis: set REDIS_URL=redis://… (`make test` does when 127.0.0.1:6379 answers)"
    )
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_postgres)
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _fresh_webhook_secrets():
    """Each test reads the accounts' webhook secrets afresh: rolling a test's accounts back
    sends no signal to empty the per-process cache (ingestion.webhooks)."""
    from ingestion.webhooks import _secrets_cache

    _secrets_cache.clear()


@pytest.fixture(autouse=True)
def _no_draining_message_waiting():
    """Each test starts with no webhook-delivery message marked waiting (reliability.services
    drain marks live in the cache, which outlives a test's rolled-back deliveries)."""
    from ingestion.tasks import process_webhook_delivery
    from reliability.services import drain_started

    drain_started(process_webhook_delivery)


@pytest.fixture
def default_team(db):
    return TeamFactory(name="Customer care", slug="customer-care", is_default=True)


@pytest.fixture
def demo_account(db):
    return PlatformAccountFactory()


@pytest.fixture
def agent(default_team):
    """An online agent in the default team."""
    return AgentFactory(teams=[default_team])


@pytest.fixture
def mocked_http():
    """Every HTTP call must match a registered response; unmatched calls fail the test."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def facebook_page(db):
    return PlatformAccountFactory(
        platform=Platform.FACEBOOK,
        handle="acme",
        external_id=FACEBOOK_PAGE_ID,
        credentials={"page_access_token": "page-token", "app_secret": META_APP_SECRET},
    )


@pytest.fixture
def notices(monkeypatch):
    """The notices sent to people's sockets after commit, as (groups, payload)."""
    sent: list[tuple[list[str], dict]] = []
    monkeypatch.setattr(
        "core.realtime._notify", lambda groups, payload: sent.append((groups, payload))
    )
    return sent
