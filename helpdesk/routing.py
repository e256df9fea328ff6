from django.urls import path

from sla.consumers import SlaAlertConsumer

from .consumers import InboxConsumer

websocket_urlpatterns = [
    path("ws/inbox/", InboxConsumer.as_asgi()),
    path("ws/sla/", SlaAlertConsumer.as_asgi()),
]
