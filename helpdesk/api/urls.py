from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("conversations", views.ConversationViewSet, basename="conversation")
router.register("teams", views.TeamViewSet, basename="team")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("reply-templates", views.ReplyTemplateViewSet, basename="reply-template")

urlpatterns = [
    *router.urls,
    path(
        "conversations/<int:conversation_pk>/sla-timers/",
        views.SlaTimersView.as_view({"get": "list"}),
        name="conversation-sla-timers",
    ),
]
