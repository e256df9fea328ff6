"""Who sent a request: the one client address the login lock-out and the audit log both use.

`X-Forwarded-For` is never read here: any client can send one. The server believes forwarded
headers only from the proxies listed in TRUSTED_PROXY_IPS (`manage.py serve` passes them to
uvicorn's `forwarded_allow_ips`), and puts the address they report in REMOTE_ADDR; with no
trusted proxy, REMOTE_ADDR is the TCP peer.
"""

from __future__ import annotations

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The client's address as the server resolved it (django-axes' AXES_CLIENT_IP_CALLABLE)."""
    return request.META.get("REMOTE_ADDR") or None


class ClientAddressAuditlogMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware, recording `client_address` rather than the first
    X-Forwarded-For entry (and no X-Forwarded-Port), which any client could make up."""

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        if settings.AUDITLOG_DISABLE_REMOTE_ADDR:
            return None
        return client_address(request)

    @staticmethod
    def _get_remote_port(request: HttpRequest) -> int | None:
        return None
