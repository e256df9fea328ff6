"""The ASGI handler that serves `/webhooks/`: Django, with only the middleware a webhook needs.

A platform's delivery carries no session, no cookie and no CSRF token: it is authenticated by
its signature, in the view. The site's full stack (sessions, auth, CSRF, messages, auditlog,
CSP, axes, whitenoise...) did nothing for it but cost: each of those sync middlewares ran
for every delivery, with a thread hop between each sync and async layer, and the intake
managed 0.04 of a bare ASGI app's rate (docs/performance.md). parley/asgi.py routes
`/webhooks/` here and everything else to the full stack; the URLs and views are the same.

What stays: the request id (django-guid: on the log lines and into the Celery task), the
Prometheus request metrics, SecurityMiddleware's headers and CommonMiddleware's ALLOWED_HOSTS
check, their hooks run on the event loop (RunInline); the views are async and wait for the
group commit (ingestion.intake), so a delivery takes no thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections, reset_queries
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import set_script_prefix
from django_prometheus.middleware import PrometheusAfterMiddleware, PrometheusBeforeMiddleware


class RunInline:
    """For a sync middleware whose hooks only compute (headers, host checks, counters: no
    database, no network): its hooks are called on the event loop. Django's MiddlewareMixin
    hands each hook of a sync middleware to a thread under an async handler, which cost the
    intake a thread hop per hook and request (eight per delivery, more than the rest of its
    Python in a profile)."""

    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class PrometheusBefore(RunInline, PrometheusBeforeMiddleware):
    pass


class Security(RunInline, SecurityMiddleware):
    pass


class Common(RunInline, CommonMiddleware):
    pass


class PrometheusAfter(RunInline, PrometheusAfterMiddleware):
    # A coroutine, so that Django calls it as it is rather than in a thread.
    async def process_view(self, request, view_func, *view_args, **view_kwargs):
        return super().process_view(request, view_func, *view_args, **view_kwargs)


WEBHOOK_MIDDLEWARE = [
    # First and last, as in settings.MIDDLEWARE: webhooks are counted like every request.
    "parley.webhook_handler.PrometheusBefore",
    "django_guid.middleware.guid_middleware",
    "parley.webhook_handler.Security",
    # ALLOWED_HOSTS is enforced here, as on the rest of the site.
    "parley.webhook_handler.Common",
    "parley.webhook_handler.PrometheusAfter",
]

WEBHOOK_URLCONF = "parley.webhook_urls"


def _has_own_receivers(signal) -> bool:
    """Whether `signal` has receivers besides Django's own database ones, which look after
    the calling thread's connections: the event loop's thread has none (the views are async,
    and Django refuses database calls there), and in a profile they cost a sixth of a
    delivery's Python, looking each connection up in the thread's locals."""
    for entry in signal.receivers:
        receiver = entry[1]
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        if receiver is not None and receiver not in (reset_queries, close_old_connections):
            return True
    return False


class WebhookASGIHandler(ASGIHandler):
    """Django's ASGI handler with WEBHOOK_MIDDLEWARE instead of settings.MIDDLEWARE, and no
    thread per request.

    Django runs each request in a ThreadSensitiveContext and sends `request_started` and
    closes the response (`request_finished`) through sync_to_async: a new thread started and
    joined for every request, although the webhook views are async and their delivery is
    stored by the group-commit writer (ingestion.intake). In a profile of a storm that was
    the largest cost after publishing. The signals' receivers (connections and caches of
    this thread, which has none open, the request id) are run here on the event loop.
    """

    middleware = WEBHOOK_MIDDLEWARE

    def create_request(self, scope, body_file):
        request, error_response = super().create_request(scope, body_file)
        if request is not None:
            # Resolved against the webhook routes only: the site's dozens of patterns tried
            # first were a tenth of a delivery's Python.
            request.urlconf = WEBHOOK_URLCONF
        return request, error_response

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send) -> None:
        # Django's ASGIHandler.handle (5.2), with the two signals sent on the event loop.
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        if _has_own_receivers(signals.request_started):
            signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            error_response.close()
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            with contextlib.suppress(asyncio.CancelledError):  # the client went away
                await self.send_response(response, send)
            return response

        # A client that disconnects cancels the view (before its delivery is taken for
        # storing, it is not stored; after, it is, and the platform's retry is a duplicate).
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            signals.request_finished.send(sender=self.__class__)
        else:
            response.close()
        body_file.close()

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE and offers no other source; the
        # list is swapped for this one call only. It runs once, when parley.asgi is imported,
        # before anything is served.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = self.middleware
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def is_webhook_path(path: str) -> bool:
    return path.startswith("/webhooks/")


class WebhookRouter:
    """HTTP requests under `/webhooks/` to `webhooks`, every other request to `site`."""

    def __init__(self, site, webhooks) -> None:
        self.site = site
        self.webhooks = webhooks

    async def __call__(self, scope, receive, send) -> None:
        app = self.webhooks if is_webhook_path(scope.get("path", "")) else self.site
        await app(scope, receive, send)
