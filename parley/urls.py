"""The root URLs: each app's pages, the API, the webhooks, the admin and the health check."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import last_modified
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from reports.urls import api_urlpatterns as report_api_urlpatterns
from reports.urls import public_urlpatterns as csat_urlpatterns

from . import people
from .health import healthz
from .metrics import metrics
from .probes import livez, readyz

# The catalogs are read once per process: they cannot change before the next restart.
CATALOGS_LOADED_AT = timezone.now()

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inbox", permanent=False)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("people/invite/", people.invite, name="invite_agent"),
    path("profile/", people.profile, name="profile"),
    # The active language's strings for static/js (gettext() and interpolate()), as an external
    # script: the CSP allows no inline one. base.html asks for it with ?lang=<code>, so each
    # language is its own URL; browsers revalidate it (a 304 until the next deploy restarts).
    path(
        "jsi18n/",
        cache_control(private=True, no_cache=True)(
            last_modified(lambda request: CATALOGS_LOADED_AT)(JavaScriptCatalog.as_view())
        ),
        name="javascript-catalog",
    ),
    path(
        "invitation/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/set_password.html",
            success_url=reverse_lazy("login"),
            post_reset_login=False,
        ),
        name="invitation_accept",
    ),
    path("", include("helpdesk.urls")),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
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
