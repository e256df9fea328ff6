"""Each agent's own language and time zone (chosen on their profile page), applied to every
request they make: pages, forms and messages in their language, times in their zone.

The choice is kept in the session (written at login and when the profile is saved), so a
request costs no query for it. A session from before the choice existed is filled once, from
the profile. An admin who changes someone's choice in the admin takes effect at their next login.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from core.models import AgentProfile

SESSION_KEY = "parley_locale"


@cache
def time_zone_names() -> list[str]:
    """Every IANA zone this machine knows, sorted: what the profile page offers."""
    return sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC")


def is_time_zone(name: str) -> bool:
    if not name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_language(code: str) -> bool:
    return code in {language for language, _name in settings.LANGUAGES}


def agent_locale(user) -> dict[str, str]:
    """The agent's chosen {"language", "time_zone"} ("" where they chose none, or for a user
    without an agent profile)."""
    choice = AgentProfile.objects.filter(user=user).values("language", "time_zone").first() or {}
    return {
        "language": choice.get("language") or "",
        "time_zone": choice.get("time_zone") or "",
    }


def remember_locale(request: HttpRequest, choice: dict[str, str]) -> None:
    """Keep the choice in the session, for the requests that follow."""
    if hasattr(request, "session"):
        request.session[SESSION_KEY] = {
            "language": choice.get("language", ""),
            "time_zone": choice.get("time_zone", ""),
        }


@receiver(user_logged_in, dispatch_uid="parley.agent_locale.remember_on_login")
def _remember_on_login(sender, request: HttpRequest | None, user, **kwargs) -> None:
    if request is not None:
        remember_locale(request, agent_locale(user))


def activate_choice(request: HttpRequest, choice: dict[str, str]) -> None:
    """Activate the agent's language (over LocaleMiddleware's guess from the browser) and
    time zone; a code or zone that is no longer valid is ignored, not an error page."""
    language = choice.get("language", "")
    if is_language(language):
        translation.activate(language)
        request.LANGUAGE_CODE = language
    zone = choice.get("time_zone", "")
    if is_time_zone(zone):
        timezone.activate(zoneinfo.ZoneInfo(zone))
    else:
        timezone.deactivate()


class AgentLocaleMiddleware:
    """After LocaleMiddleware and AuthenticationMiddleware: the signed-in agent's choice
    beats Accept-Language, and their zone is the one pages show times in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            choice = request.session.get(SESSION_KEY)
            if not isinstance(choice, dict):
                choice = agent_locale(user)
                remember_locale(request, choice)
            activate_choice(request, choice)
        else:
            timezone.deactivate()
        return self.get_response(request)
