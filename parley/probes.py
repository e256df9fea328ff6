"""`/livez` and `/readyz`: what a container orchestrator and an operator's monitoring ask.

Liveness is only "this process answers HTTP": it touches neither the database nor Redis, so
an outage of either never gets web processes restarted (webhook deliveries are designed to
wait out a Redis outage in the database). Readiness checks every component the deployment
needs: database, broker, channel layer, a Celery worker and beat seen recently. Anonymous
callers learn only ok/failed per component; staff and callers with the HEALTH_TOKEN bearer
token also see why.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import OK, readiness_report


@never_cache
@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    ready, report = readiness_report()
    if not _may_see_details(request):
        report = {name: OK if value == OK else "failed" for name, value in report.items()}
    return JsonResponse(
        {"status": "ok" if ready else "failed", **report}, status=200 if ready else 503
    )


def _may_see_details(request: HttpRequest) -> bool:
    token = settings.HEALTH_TOKEN
    if token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if constant_time_compare(offered, token):
            return True
    try:
        return bool(request.user.is_staff)
    except Exception:
        # Sessions live in the database, which may be what is down: anonymous then.
        return False
