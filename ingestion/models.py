"""The brand's accounts on each platform, and where polling each of them has got to."""

from django.db import models

from helpdesk.models import Platform


class PlatformAccount(models.Model):
    platform = models.CharField(max_length=20, choices=Platform.choices)
    handle = models.CharField(max_length=100, help_text="The brand's handle, without the @.")
    external_id = models.CharField(
        max_length=100, blank=True, help_text="The account's id on the platform."
    )
    display_name = models.CharField(max_length=200, blank=True)
    # Placeholder until credentials are encrypted at rest (see the security issue): the
    # connector reads its tokens from here.
    credentials = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    poll_cursor = models.JSONField(
        default=dict, blank=True, help_text="Where the last committed poll stopped."
    )
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_poll_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "handle"], name="account_unique_handle")
        ]

    def __str__(self) -> str:
        return f"@{self.handle} ({self.get_platform_display()})"
