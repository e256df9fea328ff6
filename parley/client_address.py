"""Who sent a request: the one client address the login lock-out and the audit log both use.

`X-Forwarded-For` is never read here: any client can send one. The server believes forwarded
headers only from the proxies listed in TRUSTED_PROXY_IPS (`manage.py serve` passes them to
uvicorn's `forwarded_allow_ips`), and puts the address they report in REMOTE_ADDR; with no
trusted proxy, REMOTE_ADDR is the TCP peer.
"""

from __future__ import annotations

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.core import checks
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


@checks.register(checks.Tags.security, deploy=True)
def check_proxy_is_trusted(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Behind a TLS proxy with no trusted proxy, every client has the proxy's address: one
    attacker's wrong passwords lock a username out for everyone, and the audit log says who
    changed something but not from where."""
    behind_proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is not None
    if behind_proxy and not settings.TRUSTED_PROXY_IPS:
        return [
            checks.Warning(
                "BEHIND_TLS_PROXY is set but TRUSTED_PROXY_IPS is empty: every client shares "
                "the proxy's address for the login lock-out and the audit log.",
                hint="Set TRUSTED_PROXY_IPS to the proxy's address or network.",
                id="parley.W001",
            )
        ]
    return []
