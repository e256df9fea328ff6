"""The ASGI handler that serves `/webhooks/`: Django, with only the middleware a webhook needs.

A platform's delivery carries no session, no cookie and no CSRF token: it is authenticated by
its signature, in the view. The site's full stack (sessions, auth, CSRF, messages, auditlog,
CSP, axes, whitenoise...) did nothing for it but cost: each of those sync middlewares ran
for every delivery, with a thread hop between each sync and async layer, and the intake
managed 0.04 of a bare ASGI app's rate (docs/performance.md). parley/asgi.py routes
`/webhooks/` here and everything else to the full stack; the URLs and views are the same.

What stays: the request id (django-guid: on the log lines and into the Celery task), the
Prometheus request metrics, SecurityMiddleware's headers and CommonMiddleware's ALLOWED_HOSTS
check. All are async-capable,
so the only thread hop left is the sync view's own.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler

WEBHOOK_MIDDLEWARE = [
    # First and last, as in settings.MIDDLEWARE: webhooks are counted like every request.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    # ALLOWED_HOSTS is enforced here, as on the rest of the site.
    "django.middleware.common.CommonMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]


class WebhookASGIHandler(ASGIHandler):
    """Django's ASGI handler with WEBHOOK_MIDDLEWARE instead of settings.MIDDLEWARE."""

    middleware = WEBHOOK_MIDDLEWARE

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
