"""Triage's own records: trained classifiers, watched accounts, auto-responses and the
agents' corrections that feed the next training run."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import Intent, Platform, Post


class Task(models.TextChoices):
    INTENT = "intent", "Intent"
    SENTIMENT = "sentiment", "Sentiment"


class TriageModel(models.Model):
    """One trained, versioned classifier; its file lives in settings.TRIAGE_MODEL_DIR."""

    task = models.CharField(max_length=10, choices=Task.choices)
    version = models.SlugField(max_length=80, unique=True)
    file_name = models.CharField(max_length=200)
    is_active = models.BooleanField(
        default=False, help_text="The model every worker uses for this task."
    )
    labels = models.JSONField(default=list)
    metrics = models.JSONField(
        default=dict, help_text="Measured on the held-out part of the training data."
    )
    threshold_precision = models.JSONField(
        default=dict,
        help_text="Per label: precision and coverage of predictions at each confidence "
        "threshold, on held-out data.",
    )
    training_size = models.PositiveIntegerField(default=0)
    feedback_examples = models.PositiveIntegerField(
        default=0, help_text="How many of the training examples came from agents' corrections."
    )
    data_source = models.CharField(max_length=300, blank=True)
    trained_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=Q(is_active=True), name="one_active_model_per_task"
            )
        ]

    def __str__(self) -> str:
        return self.version

    @property
    def macro_f1(self) -> float | None:
        return self.metrics.get("macro_f1")


class WatchedAccount(models.Model):
    """A regulator, authority or press account: a post tagging it needs attention first."""

    class Kind(models.TextChoices):
        REGULATOR = "regulator", "Regulator"
        AUTHORITY = "authority", "Authority"
        PRESS = "press", "Press"

    handle = models.CharField(max_length=100, help_text="Without the @; case does not matter.")
    platform = models.CharField(
        max_length=20, choices=Platform.choices, blank=True, help_text="Empty: every platform."
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["handle"]
        constraints = [
            models.UniqueConstraint(fields=["handle", "platform"], name="watched_account_unique")
        ]

    def __str__(self) -> str:
        return f"@{self.handle} ({self.get_kind_display()})"

    def save(self, *args, **kwargs):
        self.handle = self.handle.lstrip("@").lower()
        super().save(*args, **kwargs)


class AutoResponse(models.Model):
    """An automatic public reply for one intent, sent only above a confidence threshold."""

    intent = models.CharField(max_length=20, choices=Intent.choices, unique=True)
    template = models.TextField(
        help_text="The reply; {handle} becomes the customer's handle. Keep it within the "
        "platform's length limit."
    )
    confidence_threshold = models.FloatField(
        default=0.9, help_text="Only posts whose intent confidence is at least this are answered."
    )
    is_enabled = models.BooleanField(default=False)

    class Meta:
        ordering = ["intent"]

    def __str__(self) -> str:
        return f"Auto-response to {self.get_intent_display()}"


class AutoReply(models.Model):
    """Marks an outbound reply as sent automatically, and why."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="auto_reply")
    reply = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="+")
    auto_response = models.ForeignKey(AutoResponse, on_delete=models.PROTECT, related_name="+")
    confidence = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "auto-reply"
        verbose_name_plural = "auto-replies"

    def __str__(self) -> str:
        return f"Auto-reply to post {self.post_id}"


class TriageFeedback(models.Model):
    """An agent's verdict on one tag of one post: a correction, or a confirmation when the
    label equals the prediction. Intent and sentiment verdicts are training examples."""

    class Field(models.TextChoices):
        INTENT = "intent", "Intent"
        SENTIMENT = "sentiment", "Sentiment"
        PRIORITY = "priority", "Priority"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="triage_feedback")
    field = models.CharField(max_length=10, choices=Field.choices)
    predicted = models.CharField(max_length=20, blank=True)
    label = models.CharField(max_length=20)
    model_version = models.CharField(max_length=80, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["post", "field"], name="one_verdict_per_tag")
        ]
        indexes = [models.Index(fields=["field", "created_at"])]

    def __str__(self) -> str:
        return f"{self.field} of post {self.post_id}: {self.predicted or '-'} -> {self.label}"

    @property
    def agrees(self) -> bool:
        return self.predicted == self.label
