"""A reply whose publication timed out is checked on the platform before any resend, even
when that check itself fails first (found by `make chaos`: a 429 on the check used to clear
the doubt, and the next retry published the reply a second time)."""

from datetime import datetime

import pytest
from django.db import OperationalError

from core.models import DeliveryStatus
from ingestion import services
from ingestion.connectors import DeliveryUncertain, RateLimited
from ingestion.services import deliver_reply
from tests.factories import ConversationFactory, PostFactory, pending_reply

pytestmark = pytest.mark.django_db


class FlakyPlatform:
    """Publishes the first reply but times out; fails the first check with a 429."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.checks = 0

    def send_reply(self, *, text: str, in_reply_to: str, idempotency_key: str) -> str:
        self.published.append(text)
        if len(self.published) == 1:
            raise DeliveryUncertain("No answer from the platform: read timed out")
        return f"tweet-{len(self.published)}"

    def find_published_reply(self, *, text: str, in_reply_to: str, since: datetime) -> str | None:
        self.checks += 1
        if self.checks == 1:
            raise RateLimited("429 Too Many Requests", reset_at=None)
        return "tweet-1" if text in self.published else None


def test_a_failed_check_keeps_the_reply_in_doubt_so_it_is_never_published_twice(
    demo_account, monkeypatch
):
    platform = FlakyPlatform()
    monkeypatch.setattr(services, "connector_for", lambda account: platform)
    asked = PostFactory(conversation=ConversationFactory(account=demo_account), external_id="q-1")
    reply = pending_reply(asked, "Sorry, checking now.")

    first = deliver_reply(post_id=reply.pk)  # published, but the answer never came
    second = deliver_reply(post_id=reply.pk)  # the check is rate limited
    third = deliver_reply(post_id=reply.pk)  # the check finds it

    assert first.delivery_status == second.delivery_status == DeliveryStatus.PENDING
    assert third.delivery_status == DeliveryStatus.SENT
    assert third.external_id == "tweet-1"
    assert platform.published == ["Sorry, checking now."]


class PlatformAfterADatabaseBlip:
    """A platform that works; the database fails once while the reply is being sent."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.checks = 0

    def send_reply(self, *, text: str, in_reply_to: str, idempotency_key: str) -> str:
        self.published.append(text)
        return f"tweet-{len(self.published)}"

    def find_published_reply(self, *, text: str, in_reply_to: str, since: datetime) -> str | None:
        self.checks += 1
        return None


def test_a_database_failure_mid_send_leaves_the_reply_pending_not_failed(demo_account, monkeypatch):
    # Found by `make chaos`: PostgreSQL restarting while a worker read the post being answered
    # was taken for a connector bug, and the reply failed for good ("check the credentials").
    platform = PlatformAfterADatabaseBlip()
    monkeypatch.setattr(services, "connector_for", lambda account: platform)
    asked = PostFactory(conversation=ConversationFactory(account=demo_account), external_id="q-1")
    reply = pending_reply(asked, "Sorry, checking now.")
    read_answered_post = services._stored_post

    def database_restarting(platform_name, external_id):
        monkeypatch.setattr(services, "_stored_post", read_answered_post)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "_stored_post", database_restarting)

    first = deliver_reply(post_id=reply.pk)  # the database goes away mid-attempt
    second = deliver_reply(post_id=reply.pk)  # the task's retry

    assert first.delivery_status == DeliveryStatus.PENDING
    assert "database was unavailable" in first.delivery_error
    assert second.delivery_status == DeliveryStatus.SENT
    assert platform.checks == 1  # asked the platform before publishing again
    assert platform.published == ["Sorry, checking now."]
