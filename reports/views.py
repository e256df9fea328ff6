"""The supervisors' pages (cockpit, reports, "very responsive"), the CSV exports and the
customers' one-question CSAT page. Thin: parse, call a selector or a service, render."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from functools import wraps
from itertools import islice

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.throttling import AnonRateThrottle

from sla.models import SUPERVISOR_PERMISSION

from . import comparison, exports, selectors, services
from .forms import ReportFilterForm, ReportScheduleForm
from .models import CSAT_SCALE, CsatSurvey, ReportSchedule

EXPORT_BATCH_LINES = 500
# The reports page's charts (drawn by static/dashboards/reports.js), each with its unit.
CHARTS = [
    {"id": "volume", "title": "Inbound posts per day, with spikes", "unit": "posts a day"},
    {
        "id": "platforms",
        "title": "Share of posts per platform",
        "unit": "posts",
        "kind": "doughnut",
    },
    {"id": "resolution", "title": "Resolution time by intent", "unit": "minutes"},
    {"id": "agents", "title": "Handling time by agent", "unit": "minutes, average"},
    {
        "id": "triage-accuracy",
        "title": "Triage tags agents kept, last 30 days",
        "unit": "% of reviewed posts",
    },
]


def supervisor_required(view):
    """Logged in, and a supervisor (the SLA alerts permission); anyone else gets a 403."""

    @login_required
    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs):
        if not request.user.has_perm(SUPERVISOR_PERMISSION):
            raise PermissionDenied("Dashboards are for supervisors.")
        return view(request, *args, **kwargs)

    return guarded


@supervisor_required
@require_GET
def cockpit(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboards/cockpit.html", {"snapshot": selectors.cockpit(request.user)})


@supervisor_required
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "dashboards/reports.html", {"form": form}, status=400)
    if not request.GET:
        form = ReportFilterForm({})
        form.is_valid()
    report = form.report_filter(request.user)
    kpis = selectors.kpis(report)
    before = comparison.previous_period(report)
    return render(
        request,
        "dashboards/reports.html",
        {
            "form": form,
            "kpis": kpis,
            "summary": comparison.compare_rows(
                exports.summary_rows(kpis), exports.summary_rows(selectors.kpis(before))
            ),
            "before": {"start": before.start, "end": before.end - timedelta(days=1)},
            "presets": form.presets(),
            "charts": CHARTS,
            "agents": selectors.by_agent(report),
            "teams": selectors.by_team(report),
            "tags": selectors.by_tag(report),
            "query": request.GET.urlencode(),
            "exports": list(exports.EXPORTS),
        },
    )


@supervisor_required
@require_GET
def responsiveness(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dashboards/responsiveness.html",
        {"accounts": selectors.very_responsive(user=request.user)},
    )


@supervisor_required
@require_GET
def export(request: HttpRequest, name: str) -> HttpResponse:
    if name not in exports.EXPORTS:
        raise Http404(f"No report called {name!r}; try one of {', '.join(exports.EXPORTS)}.")
    form = ReportFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(form.error_text(), status=400, content_type="text/plain")
    lines = exports.export_lines(name, form.report_filter(request.user))
    content = _async_batches(lines) if isinstance(request, ASGIRequest) else lines
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="parley-{name}-{stamp}.csv"'
    return response


async def _async_batches(lines: Iterator[str]) -> AsyncIterator[str]:
    """Under ASGI Django would read a sync iterator whole before sending; read it in batches
    on the database thread instead, so memory stays flat for a year of rows."""
    take = sync_to_async(lambda: list(islice(lines, EXPORT_BATCH_LINES)), thread_sensitive=True)
    while batch := await take():
        yield "".join(batch)


class CsatThrottle(AnonRateThrottle):
    """The public survey page, per address (rate `csat` in REST_FRAMEWORK): enough for a
    customer to open and answer it, too few to try survey tokens or flood the scores."""

    scope = "csat"


@require_http_methods(["GET", "POST"])
def csat_survey(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's one question; no login, the unguessable token is the key."""
    throttle = CsatThrottle()
    if not throttle.allow_request(request, None):
        wait = max(1, round(throttle.wait() or 1))
        return HttpResponse(
            f"Too many requests from your address; try again in {wait} seconds.",
            status=429,
            headers={"Retry-After": str(wait)},
            content_type="text/plain",
        )
    try:
        survey = CsatSurvey.objects.select_related("conversation__account").get(token=token)
    except CsatSurvey.DoesNotExist as missing:
        raise Http404("This survey link is not valid.") from missing
    error = ""
    status = 200
    if request.method == "POST" and survey.score is None:
        try:
            score = int(request.POST.get("score", ""))
            survey = services.record_csat_response(token=token, score=score)
        except (ValueError, ValidationError):
            error = f"Choose a score from 1 to {CSAT_SCALE}."
            status = 400
    return render(
        request,
        "dashboards/csat.html",
        {
            "survey": survey,
            "scores": range(1, CSAT_SCALE + 1),
            "error": error,
            "brand": survey.conversation.account,
        },
        status=status,
    )


@supervisor_required
@require_http_methods(["GET", "POST"])
def schedules(request: HttpRequest) -> HttpResponse:
    """The supervisor's scheduled report e-mails: the list, a form to add one, and a
    button to stop each."""
    form = ReportScheduleForm(request.POST or None)
    if request.method == "POST" and "delete" in request.POST:
        ReportSchedule.objects.filter(owner=request.user, pk=request.POST["delete"]).delete()
        return redirect("dashboards:schedules")
    if request.method == "POST" and form.is_valid():
        schedule = form.save(commit=False)
        schedule.owner = request.user
        schedule.save()
        messages.success(
            request,
            gettext("“%(name)s” will be e-mailed after each period ends.")
            % {"name": schedule.name},
        )
        return redirect("dashboards:schedules")
    return render(
        request,
        "dashboards/schedules.html",
        {
            "form": form,
            "schedules": ReportSchedule.objects.filter(owner=request.user),
        },
        status=400 if request.method == "POST" else 200,
    )
