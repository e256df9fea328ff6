from datetime import datetime
from typing import Any

from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        from core.signals import conversation_retriaged

        conversation_retriaged.connect(
            _recompute_after_correction, dispatch_uid="sla.recompute_after_correction"
        )


def _recompute_after_correction(*, conversation_id: int, at: datetime, **kwargs: Any) -> None:
    from .services import recompute_timers

    recompute_timers(conversation_id=conversation_id, at=at)
