"""Admin: choose the active model, keep the watched-accounts list, set up auto-responses with
the measured precision of their threshold, and review agents' verdicts."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html_join

from .models import AutoReply, AutoResponse, TriageFeedback, TriageModel, WatchedAccount
from .store import activate_model, deactivate_models, threshold_table
from .training import precision_at


@admin.register(TriageModel)
class TriageModelAdmin(admin.ModelAdmin):
    list_display = [
        "version",
        "task",
        "is_active",
        "macro_f1",
        "training_size",
        "feedback_examples",
        "trained_at",
    ]
    list_filter = ["task", "is_active"]
    readonly_fields = [
        "task",
        "version",
        "file_name",
        "is_active",
        "labels",
        "metrics",
        "threshold_precision",
        "training_size",
        "feedback_examples",
        "data_source",
        "trained_at",
    ]
    actions = ["activate", "use_shipped_default"]

    def has_add_permission(self, request) -> bool:
        return False  # models come from `manage.py triage_train`

    @admin.action(description="Make active (workers switch without restart)")
    def activate(self, request, queryset):
        if queryset.values("task").distinct().count() != queryset.count():
            self.message_user(request, "Choose at most one model per task.", level=messages.ERROR)
            return
        for model in queryset:
            activate_model(model_id=model.pk)
            self.message_user(request, f"{model.version} is now the active {model.task} model.")

    @admin.action(description="Go back to the shipped default for these models' tasks")
    def use_shipped_default(self, request, queryset):
        for task in set(queryset.values_list("task", flat=True)):
            deactivate_models(task=task)
            self.message_user(request, f"The shipped default is now the {task} model.")


@admin.register(WatchedAccount)
class WatchedAccountAdmin(admin.ModelAdmin):
    list_display = ["handle", "kind", "platform", "note"]
    list_filter = ["kind", "platform"]
    search_fields = ["handle", "note"]


@admin.register(AutoResponse)
class AutoResponseAdmin(admin.ModelAdmin):
    list_display = ["intent", "is_enabled", "confidence_threshold", "measured_precision"]
    list_editable = ["is_enabled", "confidence_threshold"]
    readonly_fields = ["measured_precision", "precision_by_threshold"]

    @admin.display(description="Precision at this threshold (held-out)")
    def measured_precision(self, obj: AutoResponse) -> str:
        row = precision_at(
            threshold_table("intent"), label=obj.intent, threshold=obj.confidence_threshold
        )
        if row is None or row["precision"] is None:
            return "not measured: no held-out post reached this threshold"
        return f"{row['precision']:.0%} of {row['predicted']} held-out posts"

    @admin.display(description="Measured precision by threshold (active intent model)")
    def precision_by_threshold(self, obj: AutoResponse) -> str:
        rows = threshold_table("intent").get(obj.intent, [])
        return format_html_join(
            "",
            "<div>≥ {}: {} ({} posts)</div>",
            (
                (
                    row["threshold"],
                    "n/a" if row["precision"] is None else f"{row['precision']:.0%}",
                    row["predicted"],
                )
                for row in rows
            ),
        )


@admin.register(AutoReply)
class AutoReplyAdmin(admin.ModelAdmin):
    list_display = ["post", "reply", "auto_response", "confidence", "created_at"]
    readonly_fields = ["post", "reply", "auto_response", "confidence", "created_at"]


@admin.register(TriageFeedback)
class TriageFeedbackAdmin(admin.ModelAdmin):
    list_display = ["post", "field", "predicted", "label", "agent", "model_version", "created_at"]
    list_filter = ["field", "model_version"]
    raw_id_fields = ["post"]
