"""Platform tokens never reach the database, the log or a page (security, item 2).

The failures are real ones: requests and urllib3 exceptions raised by the real facebook-sdk
client, whose messages carry the request URL with `access_token=` in it.
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager

import pytest
import requests
import urllib3
from django.contrib.auth import get_user_model
from urllib3.exceptions import MaxRetryError, NewConnectionError

from core.models import DeliveryStatus, Platform
from ingestion.models import PlatformAccount, ReplyAttempt
from ingestion.services import deliver_reply, poll_account
from reliability.models import DeadLetter
from reliability.redaction import RedactingFilter, redact
from reliability.services import record_dead_letter
from tests.factories import PlatformAccountFactory, PostFactory, pending_reply
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, META_APP_SECRET

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v21.0"
PAGE_TOKEN = "pagetok-SECRET-4242"


@pytest.fixture
def leaky_page(db):
    return PlatformAccountFactory(
        platform=Platform.FACEBOOK,
        handle="acme",
        external_id=FACEBOOK_PAGE_ID,
        credentials={"page_access_token": PAGE_TOKEN, "app_secret": META_APP_SECRET},
    )


def refused_connection(request: requests.PreparedRequest):
    """What requests raises when graph.facebook.com refuses the connection: urllib3's
    MaxRetryError naming the URL (query string and token included), wrapped by requests."""
    pool = urllib3.HTTPSConnectionPool("graph.facebook.com", 443)
    connection = pool.ConnectionCls("graph.facebook.com", 443)
    reason = NewConnectionError(connection, "Failed to establish a new connection: refused")
    raise requests.ConnectionError(MaxRetryError(pool, request.path_url, reason), request=request)


@contextmanager
def server_log():
    """What the configured console handler (settings.LOGGING) writes while the block runs."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactingFilter) for f in handler.filters)
    ]
    assert handlers, "settings.LOGGING installs no redacting handler on the root logger"
    out = io.StringIO()
    previous = [handler.setStream(out) for handler in handlers]
    try:
        yield out
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678")
    client.force_login(user)
    return client


def test_failed_poll_keeps_the_page_token_out_of_the_database_the_log_and_the_admin(
    leaky_page, default_team, mocked_http, admin_client
):
    mocked_http.add_callback("GET", f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed", refused_connection)

    with server_log() as log:
        poll_account(account_id=leaky_page.pk)

    stored = PlatformAccount.objects.get(pk=leaky_page.pk).last_poll_error
    assert "Max retries exceeded" in stored  # the real urllib3 message, kept
    assert "access_token=[redacted]" in stored
    assert PAGE_TOKEN not in stored
    assert "Polling" in log.getvalue()
    assert PAGE_TOKEN not in log.getvalue()
    listing = admin_client.get("/admin/ingestion/platformaccount/")
    change = admin_client.get(f"/admin/ingestion/platformaccount/{leaky_page.pk}/change/")
    assert listing.status_code == change.status_code == 200
    assert "Max retries exceeded" in listing.content.decode()
    assert PAGE_TOKEN not in listing.content.decode()
    assert PAGE_TOKEN not in change.content.decode()


def test_reply_delivery_error_shown_to_agents_carries_no_token(
    leaky_page, mocked_http, agent, client
):
    comment = PostFactory(
        conversation__account=leaky_page,
        conversation__customer__platform="facebook",
        conversation__team=agent.agent_profile.teams.first(),
        external_id="900001_700001",
    )
    reply = pending_reply(comment, "On its way!")
    # The last call went unanswered: Parley asks the platform before publishing again.
    ReplyAttempt.objects.create(post=reply, attempts=1, outcome_unknown=True)
    mocked_http.add_callback("GET", f"{GRAPH}/900001_700001/comments", refused_connection)

    with server_log() as log:
        deliver_reply(post_id=reply.pk)

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.PENDING
    assert "access_token=[redacted]" in reply.delivery_error
    assert PAGE_TOKEN not in reply.delivery_error
    assert PAGE_TOKEN not in log.getvalue()
    client.force_login(agent)
    page = client.get(f"/conversations/{comment.conversation_id}/")
    api = client.get(f"/api/conversations/{comment.conversation_id}/")
    assert page.status_code == api.status_code == 200
    assert PAGE_TOKEN not in page.content.decode()
    assert PAGE_TOKEN not in api.content.decode()


def test_dead_letter_of_a_failed_http_call_carries_no_token(mocked_http, admin_client):
    url = f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed?access_token={PAGE_TOKEN}&fields=id"
    mocked_http.add_callback("GET", f"{GRAPH}/{FACEBOOK_PAGE_ID}/feed", refused_connection)
    try:
        requests.get(url, timeout=1)
    except requests.ConnectionError as error:
        import traceback

        failure, trace = error, "".join(traceback.format_exception(error))
    assert PAGE_TOKEN in repr(failure) and PAGE_TOKEN in trace  # what would have been stored

    with server_log() as log:
        record_dead_letter(
            task_name="ingestion.tasks.poll_account",
            task_id="t-1",
            args=[1],
            kwargs={},
            retries=5,
            error=repr(failure),
            traceback=trace,
        )

    letter = DeadLetter.objects.get()
    assert PAGE_TOKEN not in letter.error + letter.traceback
    assert "access_token=[redacted]" in letter.error
    assert "gave up" in log.getvalue()
    assert PAGE_TOKEN not in log.getvalue()
    page = admin_client.get(f"/admin/reliability/deadletter/{letter.pk}/change/")
    assert page.status_code == 200
    assert PAGE_TOKEN not in page.content.decode()


def test_log_lines_and_tracebacks_are_redacted_whatever_logs_them(mocked_http):
    mocked_http.add_callback("GET", f"{GRAPH}/me", refused_connection)
    logger = logging.getLogger("anything.at.all")

    with server_log() as log:
        try:
            requests.get(f"{GRAPH}/me?access_token={PAGE_TOKEN}", timeout=1)
        except requests.ConnectionError as error:
            logger.warning("call failed: %s", error)
            logger.exception("and with its traceback")

    written = log.getvalue()
    assert "call failed" in written and "Traceback" in written
    assert PAGE_TOKEN not in written


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET /v21.0/me?fields=id&access_token=abc123XYZ", "abc123XYZ"),
        ("url: /me?access_token%3Dabc123XYZ%26x", "abc123XYZ"),
        ('{"error": {"access_token": "abc123XYZ"}}', "abc123XYZ"),
        ("{'consumer_secret': 'abc123XYZ'}", "abc123XYZ"),
        ("Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAabc123XYZ", "AAAAAAAAAAAAAAAAAAAAAabc123XYZ"),
        ('OAuth oauth_token="abc123XYZ", oauth_signature="sig%3D"', "abc123XYZ"),
        ("hub.verify_token=abc123XYZ&hub.challenge=1", "abc123XYZ"),
        ("pasted EAABwzLixnjYBAOZBabc123XYZabc123XYZ in a message", "EAABwzLixnjYBAOZB"),
        ("appsecret_proof=abc123XYZ", "abc123XYZ"),
    ],
)
def test_redact_scrubs_each_shape_a_credential_takes(text, secret):
    assert secret not in redact(text)
    assert "[redacted]" in redact(text)


def test_redact_leaves_ordinary_error_text_alone():
    text = "Facebook answered: (#32) Page request limit reached (code 32)"

    assert redact(text) == text


def test_errors_stored_before_redaction_are_scrubbed_by_the_upgrade_command(leaky_page):
    from io import StringIO

    from django.core.management import call_command

    leaked = f"No answer from Facebook: ... url: /v21.0/1/feed?access_token={PAGE_TOKEN}&x=1"
    PlatformAccount.objects.filter(pk=leaky_page.pk).update(last_poll_error=leaked)
    reply = PostFactory(conversation__account=leaky_page, delivery_error=leaked)
    letter = DeadLetter.objects.create(task_name="t", error=leaked, traceback=leaked)
    out = StringIO()

    call_command("redact_stored_errors", stdout=out)
    call_command("redact_stored_errors", stdout=out)  # again: nothing left to do

    assert PAGE_TOKEN not in PlatformAccount.objects.get(pk=leaky_page.pk).last_poll_error
    reply.refresh_from_db()
    letter.refresh_from_db()
    assert reply.delivery_error.endswith("access_token=[redacted]&x=1")
    assert PAGE_TOKEN not in letter.error + letter.traceback
    assert "ingestion.PlatformAccount: 1 row(s) redacted" in out.getvalue()
    assert out.getvalue().count("0 row(s) redacted") >= 4


def test_celery_workers_log_through_the_redacting_handlers():
    from celery.signals import setup_logging

    # What a worker does at start: with a receiver connected, Celery installs no handlers of
    # its own, and the one that runs is Parley's (parley.celery).
    import parley.celery  # noqa: F401

    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers[:] = []  # a fresh worker process: nothing configured yet
    try:
        answers = setup_logging.send(
            sender=None, loglevel="INFO", logfile=None, format="", colorize=False
        )
        assert answers, "no receiver: Celery would install its own, unredacted, handlers"
        assert any(
            isinstance(f, RedactingFilter) for handler in root.handlers for f in handler.filters
        )
    finally:
        root.handlers[:] = saved
