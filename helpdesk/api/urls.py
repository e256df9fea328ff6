from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("conversations", views.ConversationViewSet, basename="conversation")
router.register("teams", views.TeamViewSet, basename="team")
router.register("reply-templates", views.ReplyTemplateViewSet, basename="reply-template")

urlpatterns = router.urls
