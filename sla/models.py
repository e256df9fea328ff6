"""SLA policies: how fast the brand promises to answer."""

from django.db import models

from helpdesk.models import Platform, Priority

BEST_PRACTICE_FIRST_RESPONSE_MINUTES = 15


class SlaPolicy(models.Model):
    """The first active policy, by position, whose conditions hold sets a conversation's
    targets. Empty conditions match anything."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    platform = models.CharField(max_length=20, choices=Platform.choices, blank=True)
    min_priority = models.PositiveSmallIntegerField(choices=Priority.choices, null=True, blank=True)
    first_response_minutes = models.PositiveIntegerField(
        default=BEST_PRACTICE_FIRST_RESPONSE_MINUTES
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name
