"""The URLs the webhook handler resolves (parley.webhook_handler): the same `/webhooks/` routes
as parley.urls, without the rest of the site's patterns to try first."""

from django.urls import include, path

urlpatterns = [
    path("webhooks/", include("ingestion.urls")),
]
