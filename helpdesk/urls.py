"""The agents' pages: the inbox and a conversation with its actions."""

from django.urls import path

from . import views

urlpatterns = [
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
]
