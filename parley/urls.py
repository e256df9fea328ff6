"""The root URLs: each app's pages, the API, the webhooks, the admin and the health check."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from reports.urls import api_urlpatterns as report_api_urlpatterns
from reports.urls import public_urlpatterns as csat_urlpatterns

from .health import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inbox", permanent=False)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("helpdesk.urls")),
    path("healthz", healthz, name="healthz"),
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
    path("connect/", include("ingestion.connect_urls")),
]
