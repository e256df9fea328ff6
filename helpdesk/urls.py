from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from reports.urls import api_urlpatterns as report_api_urlpatterns
from reports.urls import public_urlpatterns as csat_urlpatterns

from . import metrics, probes, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inbox", permanent=False)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/counts/", views.inbox_counts, name="inbox_counts"),
    path("conversations/<int:conversation_id>/", views.conversation, name="conversation"),
    path(
        "conversations/<int:conversation_id>/thread/",
        views.conversation_thread,
        name="conversation_thread",
    ),
    path(
        "conversations/<int:conversation_id>/status/",
        views.conversation_status,
        name="conversation_status",
    ),
    path(
        "conversations/<int:conversation_id>/assign/",
        views.conversation_assign,
        name="conversation_assign",
    ),
    path(
        "conversations/<int:conversation_id>/notes/",
        views.conversation_note,
        name="conversation_note",
    ),
    path("healthz", views.healthz, name="healthz"),
    path("livez", probes.livez, name="livez"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/reports/", include(report_api_urlpatterns)),
    path("api/", include("helpdesk.api.urls")),
    path("dashboards/", include("reports.urls")),
    path("csat/", include(csat_urlpatterns)),
    path("admin/", admin.site.urls),
    path("sla/", include("sla.urls")),
    path("triage/", include("triage.urls")),
    path("webhooks/", include("ingestion.urls")),
]
