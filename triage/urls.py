"""Triage endpoints, included under /triage/ by parley/urls.py."""

from django.urls import path

from . import views

app_name = "triage"

urlpatterns = [
    path("posts/<int:post_id>/feedback/", views.post_feedback, name="post-feedback"),
    path("posts/<int:post_id>/explanation/", views.post_explanation, name="post-explanation"),
    path("accuracy/", views.accuracy, name="accuracy"),
]
