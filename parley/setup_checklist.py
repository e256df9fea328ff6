"""The first-hour guide on the admin index: what a new install still needs before agents can
work, each step ticking itself off when the admin has done it (read from the data, nothing
to mark by hand)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from core.models import AgentProfile, Platform
from ingestion.models import PlatformAccount
from routing.models import RoutingRule
from sla.models import ServiceWindow, SlaPolicy


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    hint: str
    url: str
    done: bool


def setup_steps() -> list[Step]:
    """Five reads, one per step."""
    agents = AgentProfile.objects.filter(user__is_active=True, user__is_superuser=False).exists()
    invite_url = reverse("invite_agent")
    return [
        Step(
            "account",
            "Connect a platform account",
            "Your brand's X, Facebook or Instagram account, with its credentials.",
            reverse("admin:ingestion_platformaccount_add"),
            PlatformAccount.objects.filter(is_active=True).exclude(platform=Platform.DEMO).exists(),
        ),
        Step(
            "windows",
            "Set service windows",
            "When your team answers; SLA clocks run only then, and an out-of-hours reply "
            "can say when you are back.",
            reverse("admin:sla_servicewindow_add"),
            ServiceWindow.objects.exists(),
        ),
        Step(
            "policy",
            "Check an SLA policy",
            "How fast you promise to answer; best-practice policies (15 minutes) are there "
            "to adjust.",
            reverse("admin:sla_slapolicy_changelist"),
            SlaPolicy.objects.filter(is_active=True).exists(),
        ),
        Step(
            "routing",
            "Add a routing rule",
            "Which team gets which posts (urgent ones to priority care, say); the rest go "
            "to the default team.",
            reverse("admin:routing_routingrule_add"),
            RoutingRule.objects.exists(),
        ),
        Step(
            "agents",
            "Invite agents",
            "Your colleagues, with their teams and role; they set their own password.",
            invite_url,
            agents,
        ),
    ]
