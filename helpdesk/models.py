"""What the agents' UI keeps of its own, beside the domain: macros."""

from __future__ import annotations

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
