"""Dead letters in the admin: what failed, with which arguments and why; replayable."""

from django.contrib import admin, messages

from .models import DeadLetter
from .services import replay_dead_letter


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ["task_name", "args", "error", "retries", "failed_at", "replayed_at"]
    list_filter = ["task_name", ("replayed_at", admin.EmptyFieldListFilter)]
    search_fields = ["task_name", "error", "task_id"]
    readonly_fields = [
        "task_name",
        "task_id",
        "args",
        "kwargs",
        "retries",
        "error",
        "traceback",
        "failed_at",
        "replayed_at",
        "replay_count",
    ]
    actions = ["replay"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Replay the selected tasks")
    def replay(self, request, queryset) -> None:
        for letter in queryset:
            replay_dead_letter(dead_letter_id=letter.pk)
        self.message_user(
            request, f"Queued {queryset.count()} task(s) again.", level=messages.SUCCESS
        )
