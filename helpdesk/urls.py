"""The agents' pages: the inbox and a conversation with its actions."""

from django.urls import path

from . import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/counts/", views.inbox_counts, name="inbox_counts"),
    path("inbox/rows/", views.inbox_rows, name="inbox_rows"),
    path("inbox/bulk/", views.inbox_bulk, name="inbox_bulk"),
    path("inbox/views/", views.inbox_save_view, name="inbox_save_view"),
    path("inbox/views/<int:view_id>/delete/", views.inbox_delete_view, name="inbox_delete_view"),
    path("conversations/<int:conversation_id>/", views.conversation, name="conversation"),
    path(
        "conversations/<int:conversation_id>/team/",
        views.conversation_team,
        name="conversation_team",
    ),
    path(
        "conversations/<int:conversation_id>/next/",
        views.conversation_next,
        name="conversation_next",
    ),
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
        "conversations/<int:conversation_id>/needs-reply/",
        views.conversation_needs_reply,
        name="conversation_needs_reply",
    ),
    path(
        "conversations/<int:conversation_id>/macros/<int:macro_id>/",
        views.conversation_macro,
        name="conversation_macro",
    ),
    path(
        "conversations/<int:conversation_id>/tags/",
        views.conversation_tags,
        name="conversation_tags",
    ),
    path(
        "conversations/<int:conversation_id>/posts/<int:post_id>/<slug:verb>/",
        views.conversation_post_action,
        name="conversation_post_action",
    ),
    path(
        "conversations/<int:conversation_id>/customer/notes/",
        views.conversation_customer_notes,
        name="conversation_customer_notes",
    ),
    path(
        "conversations/<int:conversation_id>/customer/profiles/",
        views.conversation_customer_profile,
        name="conversation_customer_profile",
    ),
    path(
        "conversations/<int:conversation_id>/notes/",
        views.conversation_note,
        name="conversation_note",
    ),
]
