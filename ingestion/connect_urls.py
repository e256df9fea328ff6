"""Connect flows, mounted under /connect/."""

from django.urls import path

from . import connect_views

app_name = "connect"

urlpatterns = [
    path("meta/", connect_views.meta_start, name="meta-start"),
    path("meta/callback/", connect_views.meta_callback, name="meta-callback"),
    path("x/", connect_views.x_start, name="x-start"),
    path("x/callback/", connect_views.x_callback, name="x-callback"),
]
