"""What the agents' UI keeps of its own, beside the domain: macros and saved inbox views."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import ConversationStatus, Priority


class MacroAssign(models.TextChoices):
    KEEP = "", "Leave the assignee"
    ME = "me", "Assign to whoever runs it"
    NOBODY = "nobody", "Unassign"


class Macro(models.Model):
    """A named sequence an agent runs on a conversation with one click or key: put a reply
    template in the composer, add a tag, set the priority, status and assignee.

    Every action is optional; the ones set run in one transaction (helpdesk.services.run_macro).
    """

    name = models.CharField(max_length=100)
    team = models.ForeignKey(
        "core.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="macros",
        help_text="Empty: offered to every team.",
    )
    template = models.ForeignKey(
        "core.ReplyTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="macros",
        help_text="Put in the composer, filled in, for the agent to check and send.",
    )
    add_tag = models.CharField(max_length=50, blank=True)
    set_priority = models.PositiveSmallIntegerField(choices=Priority.choices, null=True, blank=True)
    set_status = models.CharField(
        max_length=10,
        choices=[(value, label) for value, label in ConversationStatus.choices if value != "new"],
        blank=True,
    )
    assign = models.CharField(max_length=10, choices=MacroAssign.choices, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SavedView(models.Model):
    """An inbox view an agent saved: its tab, filters and sort, as the inbox's query string.
    Shared with a team, every agent of it sees it too."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=500, help_text="The inbox's query string.")
    shared_with = models.ForeignKey(
        "core.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="saved_views",
        help_text="Empty: only its owner sees it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name
