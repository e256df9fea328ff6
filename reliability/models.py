"""Tasks that kept failing after every retry, kept so an admin can see why and replay them."""

from django.db import models


class DeadLetter(models.Model):
    """A Celery task that raised on its last retry: its name, arguments and the error.

    Nothing is lost when a task gives up: the work it was given stays in the database (a
    stored post, delivery or reply) and this record says which task to run on it again.
    """

    task_name = models.CharField(max_length=200)
    task_id = models.CharField(max_length=255, blank=True)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    retries = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    failed_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replay_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-failed_at"]
        indexes = [models.Index(fields=["task_name", "replayed_at"])]

    def __str__(self) -> str:
        return f"{self.task_name}{tuple(self.args)} failed at {self.failed_at:%Y-%m-%d %H:%M}"
