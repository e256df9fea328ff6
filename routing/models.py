"""Ordered rules that send each conversation to a team queue."""

from django.db import models

from helpdesk.models import Intent, Platform, Priority, Team


class RoutingRule(models.Model):
    """A conversation goes to the team of the first active rule, by position, that matches it.

    Empty conditions match anything; every non-empty condition must hold.
    """

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0, help_text="Lower runs first.")
    is_active = models.BooleanField(default=True)
    platform = models.CharField(max_length=20, choices=Platform.choices, blank=True)
    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True)
    min_priority = models.PositiveSmallIntegerField(
        choices=Priority.choices,
        null=True,
        blank=True,
        help_text="Matches posts of this priority or higher.",
    )
    keywords = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated; any one of them matches."
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="routing_rules")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def keyword_list(self) -> list[str]:
        return [word.strip().lower() for word in self.keywords.split(",") if word.strip()]
