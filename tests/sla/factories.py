"""factory_boy factories for the sla app's models."""

from __future__ import annotations

import factory

from core.models import Platform
from sla.models import ScheduleKind, ServiceWindow, SlaPolicy


class ServiceWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceWindow

    name = factory.Sequence(lambda n: f"Window {n}")
    platform = Platform.DEMO
    kind = ScheduleKind.ALWAYS
    timezone = "Europe/London"


class SlaPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlaPolicy

    name = factory.Sequence(lambda n: f"Policy {n}")
    position = 0
