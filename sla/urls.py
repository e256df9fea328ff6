from django.urls import path

from . import views

urlpatterns = [
    path(
        "conversations/<int:conversation_id>/timers/",
        views.conversation_timers,
        name="sla-conversation-timers",
    ),
]
