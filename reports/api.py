"""The reports as JSON for the charts and for API clients: /api/reports/<report>/."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
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
    "agents": selectors.by_agent,
    "teams": selectors.by_team,
}


class IsSupervisor(BasePermission):
    message = "Reports are for supervisors."

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm(SUPERVISOR_PERMISSION)


LIVE_REPORTS = ["cockpit", "very-responsive"]

FILTER_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (default: 6 days ago)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, included (default: today)."),
    OpenApiParameter("platform", OpenApiTypes.STR, description="demo, twitter, facebook…"),
    OpenApiParameter("account", OpenApiTypes.INT, description="Platform account id."),
    OpenApiParameter("team", OpenApiTypes.INT, description="Team id."),
    OpenApiParameter("agent", OpenApiTypes.INT, description="Assignee's user id."),
    OpenApiParameter("intent", OpenApiTypes.STR, description="question, complaint…"),
]


class ReportView(APIView):
    """One report as JSON: `{"filter": …, "data": …}` for a period's reports (filtered by the
    query string), the bare snapshot for `cockpit` and `very-responsive`. Supervisors only."""

    permission_classes = [IsAuthenticated, IsSupervisor]

    @extend_schema(
        operation_id="reports_retrieve",
        parameters=[
            OpenApiParameter(
                "name",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=[*PERIOD_REPORTS, *LIVE_REPORTS],
            ),
            *FILTER_PARAMETERS,
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, name: str) -> Response:
        if name == "cockpit":
            return Response(selectors.cockpit(request.user))
        if name == "very-responsive":
            return Response(selectors.very_responsive(user=request.user))
        if name not in PERIOD_REPORTS:
            raise NotFound(
                f"No report called {name!r}; try one of "
                f"{', '.join([*PERIOD_REPORTS, *LIVE_REPORTS])}."
            )
        form = ReportFilterForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        report = form.report_filter(request.user)
        return Response({"filter": report.describe(), "data": PERIOD_REPORTS[name](report)})
