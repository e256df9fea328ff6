from django.urls import path

from . import api, views

app_name = "dashboards"

urlpatterns = [
    path("", views.cockpit, name="cockpit"),
    path("reports/", views.reports, name="reports"),
    path("very-responsive/", views.responsiveness, name="responsiveness"),
    path("schedules/", views.schedules, name="schedules"),
    path("export/<slug:name>.csv", views.export, name="export"),
]

api_urlpatterns = [path("<slug:name>/", api.ReportView.as_view(), name="api-report")]

public_urlpatterns = [path("<str:token>/", views.csat_survey, name="csat")]
