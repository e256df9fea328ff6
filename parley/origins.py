"""Which pages may open Parley's WebSockets: an exact origin check, scheme and port included.

A browser sends the page's origin with every WebSocket handshake and the session cookie with
it, whatever page opened the socket; so the origin must be Parley's own: the origin of the
very host the handshake was sent to (when that host is in ALLOWED_HOSTS), PUBLIC_BASE_URL's, or
one listed in CSRF_TRUSTED_ORIGINS. Channels' AllowedHostsOriginValidator compares host names
only, and let `http://127.0.0.1:9999` (any local port, any scheme) through.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

logger = logging.getLogger(__name__)


def _origin(url: str) -> str | None:
    """scheme://host[:port] of a URL, lower-cased, default ports left out; None if not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def configured_origins() -> set[str]:
    """The origins allowed whatever host a handshake names."""
    listed = [*settings.CSRF_TRUSTED_ORIGINS, settings.PUBLIC_BASE_URL]
    listed += [
        f"{scheme}://{host}"
        for host in settings.ALLOWED_HOSTS
        if "*" not in host and not host.startswith(".")
        for scheme in ("http", "https")
    ]
    return {origin for origin in map(_origin, listed) if origin and "*" not in origin}


def own_origin(scope) -> str | None:
    """The origin of the host the handshake was sent to, if that host is one of ours."""
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1").strip().lower()
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") == "wss"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name = proxy_header[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        secure = secure or headers.get(name, b"").decode("latin-1") == proxy_header[1]
    return _origin(f"{'https' if secure else 'http'}://{host}")


def origin_allowed(scope) -> bool:
    headers = dict(scope.get("headers") or [])
    sent = headers.get(b"origin")
    if not sent:
        return False
    origin = _origin(sent.decode("latin-1"))
    # The browser's own spelling must match too: no path, no trailing slash, no userinfo.
    if origin is None or sent.decode("latin-1").rstrip("/").lower() != origin:
        return False
    return origin == own_origin(scope) or origin in configured_origins()


class ExactOriginValidator:
    """ASGI middleware: refuses a WebSocket handshake (HTTP 403) whose Origin is not ours."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            origin = dict(scope.get("headers") or []).get(b"origin", b"").decode("latin-1")
            logger.warning("Refused a WebSocket to %s from origin %.100r", scope["path"], origin)
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)
