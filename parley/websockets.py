from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path, re_path

from helpdesk.consumers import ConversationConsumer, InboxConsumer
from reports.consumers import CockpitConsumer
from sla.consumers import SlaAlertConsumer


class UnknownSocket(AsyncWebsocketConsumer):
    """Any other socket path (`/ws/conversations/abc/`): refused at the handshake (403), where
    an unmatched route would raise and fail it with a 500."""

    async def connect(self) -> None:
        await self.close()


websocket_urlpatterns = [
    path("ws/inbox/", InboxConsumer.as_asgi(), name="ws_inbox"),
    path(
        "ws/conversations/<int:conversation_id>/",
        ConversationConsumer.as_asgi(),
        name="ws_conversation",
    ),
    path("ws/sla/", SlaAlertConsumer.as_asgi(), name="ws_sla"),
    path("ws/cockpit/", CockpitConsumer.as_asgi(), name="ws_cockpit"),
    re_path(r"", UnknownSocket.as_asgi()),
]
# As a URLconf too, so pages can reverse a socket's path ({% socket_url %}).
urlpatterns = websocket_urlpatterns
