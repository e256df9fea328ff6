"""The reports as JSON for the charts and for API clients: /api/reports/<report>/."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sla.models import SUPERVISOR_PERMISSION

from . import selectors
from .forms import ReportFilterForm

PERIOD_REPORTS = {
    "kpis": selectors.kpis,
    "first-response": selectors.first_response,
    "next-response": selectors.next_response,
    "resolution": selectors.resolution_by_intent,
    "handling-time": selectors.handling_time,
    "volume": selectors.volume_by_channel,
    "heatmap": selectors.heatmap,
    "sentiment": selectors.sentiment_trend,
    "no-reply": selectors.no_reply_share,
    "auto-responses": selectors.auto_responses,
    "csat": selectors.csat,
    "spikes": selectors.spikes,
}


class IsSupervisor(BasePermission):
    message = "Reports are for supervisors."

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm(SUPERVISOR_PERMISSION)


class ReportView(APIView):
    permission_classes = [IsAuthenticated, IsSupervisor]

    def get(self, request: Request, name: str) -> Response:
        if name == "cockpit":
            return Response(selectors.cockpit(request.user))
        if name == "very-responsive":
            return Response(selectors.very_responsive(user=request.user))
        if name not in PERIOD_REPORTS:
            raise NotFound(
                f"No report called {name!r}; try one of "
                f"{', '.join([*PERIOD_REPORTS, 'cockpit', 'very-responsive'])}."
            )
        form = ReportFilterForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        report = form.report_filter(request.user)
        return Response({"filter": report.describe(), "data": PERIOD_REPORTS[name](report)})
