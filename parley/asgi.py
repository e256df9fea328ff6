"""ASGI entry point: Django for HTTP, Channels for the inbox WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parley.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from .body_limits import BodySizeLimitMiddleware  # noqa: E402
from .origins import ExactOriginValidator  # noqa: E402
from .webhook_fast_path import WebhookFastPath  # noqa: E402
from .webhook_handler import WebhookASGIHandler, WebhookRouter  # noqa: E402
from .websockets import websocket_urlpatterns  # noqa: E402

# Signed platform deliveries are answered in front of everything (parley.webhook_fast_path).
application = WebhookFastPath(
    ProtocolTypeRouter(
        {
            # Bodies over their route's limit are refused before Django reads them. Platform
            # deliveries skip the site's session/CSRF/auth stack (parley.webhook_handler).
            "http": BodySizeLimitMiddleware(WebhookRouter(django_asgi_app, WebhookASGIHandler())),
            "websocket": ExactOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
