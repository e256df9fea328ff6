from django.urls import path

from helpdesk.consumers import ConversationConsumer, InboxConsumer
from reports.consumers import CockpitConsumer
from sla.consumers import SlaAlertConsumer

websocket_urlpatterns = [
    path("ws/inbox/", InboxConsumer.as_asgi()),
    path("ws/conversations/<int:conversation_id>/", ConversationConsumer.as_asgi()),
    path("ws/sla/", SlaAlertConsumer.as_asgi()),
    path("ws/cockpit/", CockpitConsumer.as_asgi()),
]
