"""The web server's fast path for signed platform deliveries: a plain ASGI app in front of the
whole application (parley.asgi), so a delivery passes through no other layer.

A POST to `/webhooks/x/` or `/webhooks/meta/` is, in a storm, nearly every request the server
sees, and Django's request path (an HttpRequest, the middleware chain, the URL resolver, an
HttpResponse) was about half of a delivery's CPU once its storing was batched
(docs/performance.md); the ASGI layers in front of it (the protocol router, the body limit,
the webhook router) a third of what was left of the fast path's own. Here such a POST is
read, checked and stored without them: a body within WEBHOOK_MAX_BODY_BYTES is read (one
declared larger, or with a Content-Length that is not a number, goes to the body limit's 413
or 400 unread, and one streamed past the limit with what was read), the Host is checked
against ALLOWED_HOSTS, the signature and JSON are checked by the same functions the views
call (ingestion.webhooks: same secrets, same cache, same answers and log lines), the delivery
is stored by the group commit and answered only once committed.

What the middleware chain did for a delivery is done by hand: the request id (django-guid's
contextvar, so it is on the log lines and goes into the Celery task, and its response
header), SecurityMiddleware's headers (computed by SecurityMiddleware itself, once per
settings), CommonMiddleware's Content-Length, and django-prometheus's request and response
metrics, with the same names and labels. uvicorn's access log is unchanged.

Everything else goes to the application behind, and a webhook to the webhook handler, whose
answers are the reference: another method
(X's CRC GET, Meta's verification GET), another path, a Host not allowed (Django answers its
400), duplicated headers, a forwarded host, settings that make Django redirect, and any error
while checking or storing (the body is handed over as it was read, so Django answers and
logs it as it always did; storing it twice is harmless, deliveries are kept once per body).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from timeit import default_timer

from django.conf import settings
from django.core import signals
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host
from django.middleware.security import SecurityMiddleware
from django_guid.config import settings as guid_settings
from django_guid.context import guid
from django_prometheus.middleware import Metrics
from prometheus_client import Histogram

from ingestion.intake import ReceivedDelivery, store_delivery
from ingestion.webhooks import (
    META_RECEIVED,
    X_RECEIVED,
    Answer,
    check_meta_delivery,
    check_x_delivery,
)

from .webhook_handler import _has_own_receivers

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    view_name: str
    signature_header: bytes
    check: Callable[..., Awaitable[ReceivedDelivery | Answer]]
    received: Answer


ROUTES = {
    "/webhooks/x/": Route(
        "ingestion:x-webhook", b"x-twitter-webhooks-signature", check_x_delivery, X_RECEIVED
    ),
    "/webhooks/meta/": Route(
        "ingestion:meta-webhook", b"x-hub-signature-256", check_meta_delivery, META_RECEIVED
    ),
}


class WebhookFastPath:
    """Signed POSTs to the platforms' webhook routes, answered without Django's request path;
    every other request, and every other scope, to `fallback` (see the module)."""

    def __init__(self, fallback) -> None:
        self.fallback = fallback

    async def __call__(self, scope, receive, send) -> None:
        route = (
            ROUTES.get(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        headers = _eligible_headers(scope) if route is not None else None
        if headers is None:
            await self.fallback(scope, receive, send)
            return
        began = default_timer()
        config = _settings()
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away: nothing to store, nothing to answer
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > config.body_limit:
                # A body without a Content-Length, streamed past the limit: the body limit
                # answers its 413 with what was read.
                await self._hand_over(scope, b"".join(chunks), receive, send)
                return
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        upload_limit = config.upload_limit
        if upload_limit is not None and len(raw) > upload_limit:
            await self._hand_over(scope, raw, receive, send)
            return
        request_id = headers.get(config.request_id_header) or b""
        request_id_text = request_id.decode("latin-1") if request_id else _new_request_id()
        guid.set(request_id_text)
        try:
            checked = await route.check(signature=_text(headers, route.signature_header), raw=raw)
            if isinstance(checked, ReceivedDelivery):
                await store_delivery(checked)
                answer = route.received
            else:
                answer = checked
        except Exception:
            logger.warning(
                "Webhook fast path: %s failed; handing the delivery to Django",
                scope["path"],
                exc_info=True,
            )
            await self._hand_over(scope, raw, receive, send)
            return
        secure = _is_secure(scope, headers)
        body = answer.text.encode()
        response_headers = [
            (b"content-type", answer.content_type.encode("latin-1")),
            (b"content-length", str(len(body)).encode()),
            *_security_headers(secure),
        ]
        if config.return_request_id:
            response_headers.append((config.request_id_header, request_id_text.encode("latin-1")))
        await send(
            {"type": "http.response.start", "status": answer.status, "headers": response_headers}
        )
        await send({"type": "http.response.body", "body": body})
        # Counted once answered here: a request handed over is counted by the handler.
        _metrics().record(
            view=route.view_name,
            secure=secure,
            status=answer.status,
            request_bytes=len(raw),
            response_bytes=len(body),
            began=began,
        )
        guid.set(None)  # as django-guid does when a request finishes

    async def _hand_over(self, scope, raw: bytes, receive, send) -> None:
        """The request to Django with the body already read."""
        handed = False

        async def replay() -> dict:
            nonlocal handed
            if not handed:
                handed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.fallback(scope, replay, send)


@dataclass(frozen=True)
class _Config:
    """What the fast path reads from the settings, read once (and again when a setting
    changes, in tests): each read of django.conf.settings goes through LazyObject's
    __getattribute__, a twentieth of a delivery's Python in a profile."""

    plain: bool
    body_limit: int  # the body limit's for webhook routes (parley.body_limits)
    allowed_hosts: tuple[str, ...]
    proxy_ssl_header: tuple[bytes, str] | None
    ssl_redirect: bool
    upload_limit: int | None
    request_id_header: bytes
    return_request_id: bool
    request_id_as_string: bool
    request_id_length: int


_config: _Config | None = None


def _settings() -> _Config:
    global _config
    if _config is None:
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]
        proxy = settings.SECURE_PROXY_SSL_HEADER
        _config = _Config(
            plain=_plain_settings(),
            body_limit=settings.WEBHOOK_MAX_BODY_BYTES,
            allowed_hosts=tuple(allowed),
            proxy_ssl_header=(_meta_to_header(proxy[0]), proxy[1]) if proxy else None,
            ssl_redirect=settings.SECURE_SSL_REDIRECT,
            upload_limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
            request_id_header=guid_settings.guid_header_name.lower().encode("latin-1"),
            return_request_id=guid_settings.return_header,
            request_id_as_string=guid_settings.uuid_format == "string",
            request_id_length=guid_settings.uuid_length,
        )
    return _config


def _eligible_headers(scope) -> dict[bytes, bytes] | None:
    """The request's headers when the fast path may answer it as Django would; None to hand
    it to Django."""
    config = _settings()
    if scope.get("root_path") or not config.plain or _has_own_receivers(signals.request_started):
        return None
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in headers:
            return None  # Django joins repeated headers; let it
        headers[name] = value
    declared = headers.get(b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > config.body_limit):
        return None  # the body limit answers 400 or 413 before a byte is read
    host = headers.get(b"host")
    if not host or (host not in _hosts_allowed and not _host_allowed(host, config.allowed_hosts)):
        # Django answers a Host not allowed with its 400 (and the security log line).
        return None
    if config.ssl_redirect and not _is_secure(scope, headers):
        return None  # SecurityMiddleware redirects
    return headers


def _plain_settings() -> bool:
    """Whether this configuration makes the chain do nothing the fast path does not do."""
    return (
        not settings.USE_X_FORWARDED_HOST
        and not settings.DISALLOWED_USER_AGENTS
        and not settings.PREPEND_WWW
        and not guid_settings.validate_guid
        and not guid_settings.expose_header
        and not guid_settings.integrations
        and not any(path.strip("/") in guid_settings.ignore_urls for path in ROUTES)
    )


# Host headers found allowed, so a platform's one Host is split and matched once, not per
# delivery (a twentieth of the event loop's time); emptied when a setting changes. A few
# dozen at most: with a wildcard in ALLOWED_HOSTS any number of names could match.
_hosts_allowed: set[bytes] = set()
_HOSTS_ALLOWED_KEPT = 64


def _host_allowed(host: bytes, allowed: tuple[str, ...]) -> bool:
    # As HttpRequest.get_host() decides (allowed: ALLOWED_HOSTS, or DEBUG's defaults).
    domain, _ = split_domain_port(host.decode("latin-1"))
    if not (domain and validate_host(domain, allowed)):
        return False
    if len(_hosts_allowed) < _HOSTS_ALLOWED_KEPT:
        _hosts_allowed.add(host)
    return True


def _is_secure(scope, headers: dict[bytes, bytes]) -> bool:
    # As HttpRequest.scheme decides: the proxy's header when one is trusted, else the scope.
    proxy = _settings().proxy_ssl_header
    if proxy is not None:
        name, secure_value = proxy
        value = headers.get(name)
        if value is not None:
            return value.decode("latin-1").split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") == "https"


def _meta_to_header(meta_name: str) -> bytes:
    return meta_name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")


def _text(headers: dict[bytes, bytes], name: bytes) -> str:
    return headers.get(name, b"").decode("latin-1")


def _new_request_id() -> str:
    # As django-guid makes one: a version 4 UUID, its 16 random bytes marked as uuid.UUID
    # marks them (building the UUID object was a fiftieth of the event loop's time).
    config = _settings()
    made = bytearray(os.urandom(16))
    made[6] = made[6] & 0x0F | 0x40  # version 4
    made[8] = made[8] & 0x3F | 0x80  # RFC 4122 variant
    text = made.hex()
    if config.request_id_as_string:
        text = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text[: config.request_id_length]


# SecurityMiddleware's headers for a response over http and over https, as it adds them:
# computed by it once, and again when a setting changes (tests).
_security_cache: dict[bool, list[tuple[bytes, bytes]]] = {}


class _Request:
    def __init__(self, secure: bool) -> None:
        self.secure = secure

    def is_secure(self) -> bool:
        return self.secure


def _security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    cached = _security_cache.get(secure)
    if cached is None:
        response = SecurityMiddleware(lambda request: None).process_response(
            _Request(secure), HttpResponse()
        )
        cached = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers.items()
            if name.lower() != "content-type"
        ]
        _security_cache[secure] = cached
    return cached


@receiver(setting_changed)
def _forget_settings(**kwargs) -> None:
    global _config
    _config = None
    _security_cache.clear()
    _hosts_allowed.clear()


class _RequestMetrics:
    """django-prometheus's request and response metrics for fast-path requests, as its two
    middlewares record them for a view (same metrics, same labels, same counts).

    Recorded a batch at a time: a request's answer is noted in a list, and the requests
    answered in one turn of the event loop (a group commit's batch is answered together) go
    into the metrics at the end of that turn, or when /metrics is read. Sixteen updates per
    request, each through prometheus_client's checks and a lock, were a fifth of the fast
    path's own CPU (docs/performance.md); per batch it is each counter incremented once by
    the batch's count and each histogram's buckets by theirs."""

    def __init__(self) -> None:
        self.metrics = Metrics.get_instance()
        self._recorders: dict[tuple[str, bool, int], _Recorder] = {}
        # Taken by the event loop's thread and by a /metrics request's thread.
        self._lock = threading.Lock()
        self._answered: list[tuple[tuple[str, bool, int], int, int, float]] = []

    def record(
        self,
        *,
        view: str,
        secure: bool,
        status: int,
        request_bytes: int,
        response_bytes: int,
        began: float,
    ) -> None:
        """Count a request answered on the running event loop."""
        answered = ((view, secure, status), request_bytes, response_bytes, default_timer() - began)
        with self._lock:
            self._answered.append(answered)
            first = len(self._answered) == 1
        if first:
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Put the requests noted so far into the metrics."""
        with self._lock:
            answered, self._answered = self._answered, []
        by_kind: dict[tuple[str, bool, int], list] = {}
        for kind, *sizes_and_time in answered:
            by_kind.setdefault(kind, []).append(sizes_and_time)
        for kind, requests in by_kind.items():
            recorder = self._recorders.get(kind)
            if recorder is None:
                recorder = self._recorders[kind] = self._recorder(*kind)
            for count in recorder.counters:
                count(len(requests))
            request_bytes, response_bytes, elapsed = zip(*requests, strict=True)
            _observe_each(recorder.request_size, request_bytes)
            _observe_each(recorder.response_size, response_bytes)
            for latency in recorder.latencies:
                _observe_each(latency, elapsed)

    def _recorder(self, view: str, secure: bool, status: int) -> _Recorder:
        # Each kind of answer's metrics children, looked up once: finding them by their labels
        # was a third of the metrics' cost.
        metrics = self.metrics
        transport = "https" if secure else "http"
        label = str(status)
        return _Recorder(
            counters=(
                metrics.requests_total.inc,
                metrics.requests_by_method.labels(method="POST").inc,
                metrics.requests_by_transport.labels(transport=transport).inc,
                metrics.requests_by_view_transport_method.labels(
                    view=view, transport=transport, method="POST"
                ).inc,
                metrics.responses_by_status.labels(status=label).inc,
                metrics.responses_by_status_view_method.labels(
                    status=label, view=view, method="POST"
                ).inc,
                metrics.responses_by_charset.labels(charset="utf-8").inc,
                metrics.responses_total.inc,
            ),
            request_size=metrics.requests_body_bytes,
            response_size=metrics.responses_body_bytes,
            latencies=(
                metrics.requests_latency_by_view_method.labels(view=view, method="POST"),
                metrics.requests_latency_before,
            ),
        )


@dataclass(frozen=True)
class _Recorder:
    counters: tuple[Callable[[int], None], ...]
    request_size: Histogram
    response_size: Histogram
    latencies: tuple[Histogram, ...]


def _observe_each(histogram: Histogram, amounts: Sequence[float]) -> None:
    """`histogram.observe(amount)` for each amount, a bucket's count added once.

    Histogram has no batch observe: this updates its sum and buckets as `observe` does (the
    first bucket whose upper bound is at least the amount; the last is +Inf), through its
    attributes. tests/parley/test_webhook_fast_path.py checks the result against `observe`,
    so an upgrade that changes them fails there."""
    histogram._sum.inc(sum(amounts))
    bounds = histogram._upper_bounds
    for index, count in Counter(bisect_left(bounds, amount) for amount in amounts).items():
        histogram._buckets[index].inc(count)


class AccessLogger(logging.Logger):
    """uvicorn's access logger, without a line for a webhook POST answered 200. In a storm
    those lines were a seventh of the web process's Python (formatting, the redaction filter,
    writing) and said nothing the stored delivery (its received_at) and the request metrics
    do not; refusals (403, 400, 413...) and every other request keep their line. Skipped
    before the record is made: made and then dropped by a filter, each record still cost a
    twentieth of the event loop's time."""

    def info(self, msg, *args, **kwargs) -> None:
        # uvicorn's line: (client, method, path with query, HTTP version, status)
        if not (len(args) == 5 and args[4] == 200 and args[1] == "POST" and args[2] in ROUTES):
            super().info(msg, *args, **kwargs)


def skip_stored_deliveries_in_access_log() -> None:
    """Called once per web process (parley.serving). uvicorn made its logger at import, so
    its class is changed in place (its handlers, level and filters stay)."""
    logging.getLogger("uvicorn.access").__class__ = AccessLogger


_request_metrics: _RequestMetrics | None = None


def flush_request_metrics() -> None:
    """Put the fast path's requests answered so far into the metrics (/metrics calls it)."""
    if _request_metrics is not None:
        _request_metrics.flush()


def _metrics() -> _RequestMetrics:
    global _request_metrics
    if _request_metrics is None:
        _request_metrics = _RequestMetrics()
    return _request_metrics
