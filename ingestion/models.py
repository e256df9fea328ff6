"""The brand's accounts on each platform, where polling each of them has got to, and the
records that keep webhook deliveries and outbound replies exactly-once."""

import json

from django.db import models
from django.utils import timezone

from core.fields import EncryptedJSONField
from core.models import Platform


class PlatformAccount(models.Model):
    platform = models.CharField(
        max_length=20,
        choices=Platform.choices,
        help_text="The service platform this account lives on.",
    )
    handle = models.CharField(max_length=100, help_text="The brand's handle, without the @.")
    external_id = models.CharField(
        max_length=100,
        blank=True,
        help_text="The account's id on the platform: the X user id, the Facebook page id or "
        "the Instagram business account id. Webhook deliveries are matched on it.",
    )
    display_name = models.CharField(max_length=200, blank=True)
    # Tokens are encrypted at rest and never shown back (see the account admin form).
    credentials = EncryptedJSONField(default=dict, blank=True)
    listening_queries = models.TextField(
        blank=True,
        help_text="One search query per line (brand keywords, hashtags), polled besides the "
        "account's mentions. X only.",
    )
    poll_interval_seconds = models.PositiveIntegerField(
        default=60, help_text="How often this account is polled."
    )
    is_active = models.BooleanField(default=True)
    poll_cursor = models.JSONField(
        default=dict, blank=True, help_text="Where the last committed poll stopped."
    )
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_poll_error = models.TextField(blank=True)
    # Polling state: when the next poll may run (backoff and rate limits push it out), and
    # whether the platform has refused the account for good (bad token, revoked access).
    next_poll_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    is_healthy = models.BooleanField(
        default=True,
        help_text="Cleared when the platform refuses the account's credentials; polling stops "
        "until an admin fixes them and ticks this again.",
    )
    rate_limited_until = models.DateTimeField(null=True, blank=True)
    rate_limit_state = models.JSONField(
        default=dict, blank=True, help_text="The platform's last reported quota, per endpoint."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "handle"], name="account_unique_handle")
        ]

    def __str__(self) -> str:
        return f"@{self.handle} ({self.get_platform_display()})"

    @property
    def queries(self) -> list[str]:
        return [line.strip() for line in self.listening_queries.splitlines() if line.strip()]

    @property
    def is_rate_limited(self) -> bool:
        return self.rate_limited_until is not None and self.rate_limited_until > timezone.now()


class WebhookDelivery(models.Model):
    """One signed delivery a platform pushed, kept until a worker has processed it.

    Storing the body before acknowledging means a crash after the 200 loses nothing.
    """

    platform = models.CharField(max_length=20, choices=Platform.choices)
    # The body as the platform sent it, byte for byte what was signed; read through `payload`.
    # Kept as text, not jsonb: it is never queried inside, and PostgreSQL parsing it into
    # jsonb at every INSERT (and printing it back for the worker) was a third of the
    # database's CPU per delivery in a storm (docs/performance.md).
    body_text = models.TextField(blank=True)
    # The parsed body of the deliveries stored before `body_text` (ingestion 0012), until
    # WEBHOOK_DELIVERY_RETENTION_DAYS deletes them; empty for the others.
    body = models.JSONField(null=True, blank=True)
    # SHA-256 of the raw body: a platform's redelivery of the same body is acknowledged
    # without storing it twice. Looked up by platform and digest, through the unique
    # constraint's index: an index of its own (and its LIKE twin) cost every storm INSERT
    # two more random-key B-tree insertions (docs/performance.md).
    body_sha256 = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Who is processing it, since when: a worker takes the deliveries queued behind the one
    # its task names (ingestion.services.process_webhook_delivery), and the others' tasks
    # leave them to it. A claim older than INGESTION_DELIVERY_CLAIM_SECONDS is void.
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The deliveries still to process: few, in a table that keeps every delivery.
            models.Index(
                fields=["platform", "id"],
                condition=models.Q(processed_at__isnull=True),
                name="webhook_delivery_pending_idx",
            ),
        ]
        constraints = [
            # A body is kept once per platform, whichever web process receives it (the group
            # commit inserts with ON CONFLICT DO NOTHING: ingestion.intake). Rows stored
            # without a digest (imports, benchmarks) are not deduplicated.
            models.UniqueConstraint(
                fields=["platform", "body_sha256"],
                condition=~models.Q(body_sha256=""),
                name="webhook_delivery_once_per_body",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} delivery #{self.pk}"

    @property
    def payload(self) -> dict:
        """The delivery's JSON body, parsed."""
        return json.loads(self.body_text) if self.body_text else self.body


class ReplyAttempt(models.Model):
    """The record, committed before the platform is called, that a reply is being published.

    If a call times out, the platform may or may not have published the reply; the next
    attempt finds this record and asks the platform before publishing again.
    """

    post = models.OneToOneField("core.Post", on_delete=models.CASCADE, related_name="reply_attempt")
    started_at = models.DateTimeField(default=timezone.now)
    # Set while a worker is calling the platform, cleared when the call has ended either way.
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When a worker last claimed it: the reliability sweep retries a pending reply whose
    # task was lost once it has been quiet longer than any retry backoff.
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    outcome_unknown = models.BooleanField(
        default=False, help_text="The last call ended without an answer from the platform."
    )

    def __str__(self) -> str:
        return f"Reply attempt for post {self.post_id}"


class LinkStatus(models.TextChoices):
    SUGGESTED = "suggested", "Suggested"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


class CustomerLink(models.Model):
    """Two identities of one person on different platforms (same customer, seen twice).

    Parley suggests a link when a new identity has the handle of one on another platform;
    an admin confirms or rejects it, or links two identities by hand.
    """

    customer = models.ForeignKey("core.Customer", on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey("core.Customer", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=10, choices=LinkStatus.choices, default=LinkStatus.SUGGESTED
    )
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "other"], name="customer_link_once"),
            models.CheckConstraint(
                condition=~models.Q(customer=models.F("other")), name="customer_link_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} ↔ {self.other} ({self.get_status_display()})"


class CustomerProfile(models.Model):
    """What a platform's profile lookup said about a customer known only by a page-scoped id
    (a Messenger PSID, an Instagram IGSID): looked up once, failures kept, never retried
    in a loop (ingestion.profiles)."""

    customer = models.OneToOneField(
        "core.Customer", on_delete=models.CASCADE, related_name="platform_profile"
    )
    picture_url = models.URLField(max_length=2000, blank=True)
    looked_up_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True, help_text="Why the lookup failed, if it did.")

    def __str__(self) -> str:
        return f"Profile of customer {self.customer_id}"
