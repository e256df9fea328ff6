"""Webhook endpoints for the platforms that push: Meta (Facebook Pages, Instagram) and the
X Account Activity API.

Every delivery is size-checked (413 above WEBHOOK_MAX_BODY_BYTES), checked against the app
secret's HMAC (403 and nothing stored when it does not match), then parsed (400 for malformed
JSON, invalid UTF-8, deep nesting or text Postgres cannot store: see json_input), then
stored and acknowledged at once; a Celery task turns it into posts, where dedupe makes
repeated deliveries harmless. The same body delivered again is acknowledged, not stored twice.
Storing needs only the database: with Redis down the delivery is kept and queued later.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import close_old_connections, connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from core.models import Platform

from .intake import ReceivedDelivery, store_delivery
from .json_input import inspect_storable
from .models import PlatformAccount

logger = logging.getLogger(__name__)

META_OBJECTS = {"page": Platform.FACEBOOK, "instagram": Platform.INSTAGRAM}


# The views are async: a delivery's checks run on the event loop and its storing waits for
# the commit (ingestion.intake) without a thread and a connection of its own per request.


@dataclass(frozen=True)
class Answer:
    """What a delivery is answered, whoever serves it: the Django views below, or the web
    server's fast path for signed POSTs (parley.webhook_fast_path)."""

    status: int
    text: str = ""
    content_type: str = "text/plain"


# What a stored delivery is answered: Meta asks for EVENT_RECEIVED, X for a 200.
META_RECEIVED = Answer(200, "EVENT_RECEIVED")
X_RECEIVED = Answer(200, content_type="text/html; charset=utf-8")


async def check_meta_delivery(*, signature: str, raw: bytes) -> ReceivedDelivery | Answer:
    """A Meta POST's body, checked against `X-Hub-Signature-256` (`signature`) and parsed:
    the delivery to store, or the refusal to answer (logged here)."""
    secrets = await _secrets(settings.META_APP_SECRET, "app_secret", META_OBJECTS.values())
    expected = ["sha256=" + hmac.digest(secret.encode(), raw, "sha256").hex() for secret in secrets]
    if not _matches(signature, expected):
        logger.warning("Meta webhook: rejected a delivery with a bad X-Hub-Signature-256")
        return Answer(403, "Invalid X-Hub-Signature-256.")
    body = _json_object(raw)
    if isinstance(body, Answer):
        return body
    kind = body.get("object")
    platform = META_OBJECTS.get(kind) if isinstance(kind, str) else None
    if platform is None:
        return _refused(f"Unsupported object {body.get('object')!r}; expected page or instagram.")
    return ReceivedDelivery.of(platform, raw)


async def check_x_delivery(*, signature: str, raw: bytes) -> ReceivedDelivery | Answer:
    """An X POST's body, checked against `X-Twitter-Webhooks-Signature` (`signature`) and
    parsed: the delivery to store, or what to answer instead (logged here)."""
    secrets = await _secrets(settings.X_CONSUMER_SECRET, "consumer_secret", [Platform.TWITTER])
    expected = ["sha256=" + _b64_hmac(secret, raw) for secret in secrets]
    if not _matches(signature, expected):
        logger.warning("X webhook: rejected a delivery with a bad x-twitter-webhooks-signature")
        return Answer(403, "Invalid x-twitter-webhooks-signature.")
    body = _json_object(raw)
    if isinstance(body, Answer):
        return body
    if "replay_job_status" in body:
        # About the subscription, not the account's activity: nothing to store.
        status = body["replay_job_status"] if isinstance(body["replay_job_status"], dict) else {}
        logger.info(
            "X webhook: replay job %s is %s: %s",
            status.get("job_id"),
            status.get("job_state"),
            status.get("job_state_description"),
        )
        return X_RECEIVED
    if "for_user_id" not in body and "user_event" not in body:
        return _refused("Not an Account Activity delivery: no for_user_id or user_event.")
    # A `user_event` (an access revocation) is stored and processed like any delivery: the
    # worker marks the account unhealthy with the reason.
    return ReceivedDelivery.of(Platform.TWITTER, raw)


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def meta_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _meta_handshake(request)
    too_big = _too_big(request)
    if too_big is not None:
        return too_big
    checked = await check_meta_delivery(
        signature=request.headers.get("X-Hub-Signature-256", ""), raw=request.body
    )
    return await _store_and_answer(checked, META_RECEIVED)


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def x_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        secrets = await _secrets(settings.X_CONSUMER_SECRET, "consumer_secret", [Platform.TWITTER])
        # The rate limit counts in the cache: a blocking call.
        return await sync_to_async(_x_crc)(request, secrets)
    too_big = _too_big(request)
    if too_big is not None:
        return too_big
    checked = await check_x_delivery(
        signature=request.headers.get("X-Twitter-Webhooks-Signature", ""), raw=request.body
    )
    return await _store_and_answer(checked, X_RECEIVED)


async def _store_and_answer(checked: ReceivedDelivery | Answer, received: Answer) -> HttpResponse:
    answer = checked if isinstance(checked, Answer) else received
    if isinstance(checked, ReceivedDelivery):
        # Answered once committed (ingestion.intake).
        await store_delivery(checked)
    return HttpResponse(answer.text, status=answer.status, content_type=answer.content_type)


def _meta_handshake(request: HttpRequest) -> HttpResponse:
    """Meta's subscription check: echo the challenge when the verify token matches."""
    token = settings.META_WEBHOOK_VERIFY_TOKEN
    if (
        request.GET.get("hub.mode") == "subscribe"
        and token
        and hmac.compare_digest(request.GET.get("hub.verify_token", ""), token)
    ):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    return HttpResponse("Verify token does not match.", status=403, content_type="text/plain")


# X's CRC tokens are short opaque strings in the URL-safe base64 alphabet. Anything else is
# refused: the CRC answer is the same HMAC that signs deliveries, so answering arbitrary text
# would let anyone obtain a valid signature for a body of their choosing (docs/security.md).
X_CRC_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}={0,2}")


def _x_crc(request: HttpRequest, secrets: list[str]) -> HttpResponse:
    """X's challenge-response check: HMAC the crc_token with the consumer secret.

    Only tokens of X's form are answered, and each client address may ask at most
    X_WEBHOOK_CRC_RATE times: both refusals are logged.
    """
    if is_ratelimited(
        request,
        group="ingestion.x-crc",
        key="ip",
        rate=settings.X_WEBHOOK_CRC_RATE,
        increment=True,
    ):
        logger.warning(
            "X webhook: refused a CRC request from %s: over %s",
            request.META.get("REMOTE_ADDR"),
            settings.X_WEBHOOK_CRC_RATE,
        )
        return HttpResponse("Too many CRC requests.", status=429, content_type="text/plain")
    crc_token = request.GET.get("crc_token")
    if not crc_token:
        return _bad_request("Missing crc_token.")
    if not _is_x_crc_token(crc_token):
        logger.warning(
            "X webhook: refused to answer a CRC token that is not of X's form (%d characters "
            "from %s): %.40r",
            len(crc_token),
            request.META.get("REMOTE_ADDR"),
            crc_token,
        )
        return HttpResponse(
            "crc_token must be up to 128 URL-safe base64 characters.",
            status=400,
            content_type="text/plain",
        )
    if not secrets:
        return HttpResponse(
            "No X consumer secret configured.", status=403, content_type="text/plain"
        )
    return JsonResponse({"response_token": "sha256=" + _b64_hmac(secrets[0], crc_token.encode())})


def _is_x_crc_token(token: str) -> bool:
    """X's alphabet and length, and nothing a JSON parser accepts (a bare number, `true`):
    a signed CRC answer must never double as a signature on a body the webhook would read."""
    if not X_CRC_TOKEN.fullmatch(token):
        return False
    try:
        json.loads(token)
    except ValueError:
        return True
    return False


async def _secrets(configured: str, credential: str, platforms) -> list[str]:
    """The app secret from settings, then any that admins entered on the accounts."""
    found = [configured] if configured else []
    key = (credential, tuple(platforms))
    cached = _secrets_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < settings.WEBHOOK_SECRETS_CACHE_SECONDS:
        account_secrets = cached[1]
    else:
        account_secrets = await asyncio.shield(_refresh(key))
    for secret in account_secrets:
        if secret not in found:
            found.append(secret)
    return found


# The accounts' secrets, per (credential, platforms): (read at, secrets). Reading them meant a
# query and decrypting every active account's credentials on each delivery; kept here for
# WEBHOOK_SECRETS_CACHE_SECONDS. Saving or deleting an account empties it in this process at
# once; another process (a worker refreshing a token, a second web process) sees the change
# when its copy expires, so a rotated secret is honoured everywhere within that many seconds.
_secrets_cache: dict[tuple[str, tuple[str, ...]], tuple[float, list[str]]] = {}


# The reads of the accounts' secrets in flight, per (key, event loop).
_refreshing: dict[tuple, asyncio.Task] = {}


def _refresh(key: tuple[str, tuple[str, ...]]) -> asyncio.Task:
    """The read of the accounts' secrets: one at a time per process. When the cache expired
    in a storm, every request in flight (32 in the benchmark) went to the one thread Django
    gives sync code, one after the other behind the read, and came back one at a time; now
    they wait for the one read on the event loop (shielded: a caller that goes away does
    not cancel it)."""
    loop = asyncio.get_running_loop()
    flight = (key, loop)
    task = _refreshing.get(flight)
    if task is None:
        task = loop.create_task(sync_to_async(_read_account_secrets)(*key))
        _refreshing[flight] = task
        task.add_done_callback(lambda done: _refreshing.pop(flight, None))
    return task


def _read_account_secrets(credential: str, platforms: tuple[str, ...]) -> list[str]:
    """_account_secrets from an async view: the connection goes back to the pool at once.
    Held until the request ends, as Django would, a storm's requests that all found the
    cache expired took every pooled connection, and waited for the group-commit writer
    (ingestion.intake), which waited for a connection."""
    try:
        return _account_secrets(credential, platforms)
    finally:
        if not connection.in_atomic_block:
            close_old_connections()


def _account_secrets(credential: str, platforms: tuple[str, ...]) -> list[str]:
    key = (credential, platforms)
    now = time.monotonic()
    cached = _secrets_cache.get(key)
    if cached is not None and now - cached[0] < settings.WEBHOOK_SECRETS_CACHE_SECONDS:
        return cached[1]
    secrets = []
    for credentials in PlatformAccount.objects.filter(
        platform__in=list(platforms), is_active=True
    ).values_list("credentials", flat=True):
        secret = (credentials or {}).get(credential)
        if secret and secret not in secrets:
            secrets.append(secret)
    _secrets_cache[key] = (now, secrets)
    return secrets


@receiver(post_save, sender=PlatformAccount)
@receiver(post_delete, sender=PlatformAccount)
def forget_account_secrets(**kwargs) -> None:
    """An account's secret changed (or it was disabled, or deleted): read them again."""
    _secrets_cache.clear()


def _matches(signature: str, expected: list[str]) -> bool:
    return any(hmac.compare_digest(signature.encode(), value.encode()) for value in expected)


def _b64_hmac(secret: str, message: bytes) -> str:
    # hmac.digest is OpenSSL's one-shot HMAC: an HMAC object built in Python for each
    # delivery was a thirtieth of the web process's time in a storm.
    return base64.b64encode(hmac.digest(secret.encode(), message, "sha256")).decode()


def _too_big(request: HttpRequest) -> HttpResponse | None:
    """413 before reading a body over the limit (the declared length, then the real one)."""
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    message = f"Body larger than {limit} bytes."
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _bad_request("Invalid Content-Length.")
    if declared > limit:
        logger.warning("Webhook: %s", message)
        return HttpResponse(message, status=413, content_type="text/plain")
    try:
        size = len(request.body)
    except RequestDataTooBig:
        size = limit + 1
    if size > limit:
        logger.warning("Webhook: %s", message)
        return HttpResponse(message, status=413, content_type="text/plain")
    return None


def _json_object(raw: bytes) -> dict | Answer:
    try:
        body = inspect_storable(raw)
    except ValueError as error:
        return _refused(f"Malformed JSON: {error}.")
    if not isinstance(body, dict):
        return _refused("Expected a JSON object.")
    return body


def _refused(message: str) -> Answer:
    logger.warning("Webhook: %s", message)
    return Answer(400, message)


def _bad_request(message: str) -> HttpResponse:
    answer = _refused(message)
    return HttpResponse(answer.text, status=answer.status, content_type=answer.content_type)
