"""Admin screens for service windows and SLA policies. Saving either moves the running
timers' thresholds (after commit, in a task)."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet

from .models import (
    BusinessHours,
    ScheduleKind,
    ServiceWindow,
    ServiceWindowClosure,
    SlaPolicy,
    SlaTimer,
)
from .tasks import recompute_active_timers


def _recompute_after_commit() -> None:

    transaction.on_commit(recompute_active_timers.delay)


class RecomputesTimers:
    """Saving or deleting a window or policy moves every running timer's thresholds."""

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        _recompute_after_commit()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        _recompute_after_commit()


class BusinessHoursFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if self.instance.kind != ScheduleKind.WEEKLY:
            return
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        if not kept:
            raise ValidationError("Business hours per weekday need at least one day's hours.")


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    formset = BusinessHoursFormSet
    extra = 0


class ServiceWindowClosureInline(admin.TabularInline):
    model = ServiceWindowClosure
    extra = 0


@admin.register(ServiceWindow)
class ServiceWindowAdmin(RecomputesTimers, admin.ModelAdmin):
    list_display = ["name", "account", "platform", "kind", "timezone", "holiday_country"]
    list_filter = ["kind", "platform"]
    inlines = [BusinessHoursInline, ServiceWindowClosureInline]
    fieldsets = [
        (None, {"fields": ["name", "account", "platform"]}),
        (
            "Schedule",
            {
                "fields": ["kind", "timezone", "opens_at", "closes_at", "crosses_midnight"],
                "description": "Business hours per weekday go in the table below.",
            },
        ),
        ("Holidays", {"fields": ["holiday_country", "holiday_subdivision"]}),
        ("Out of hours", {"fields": ["out_of_hours_reply"]}),
    ]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        _recompute_after_commit()


@admin.register(SlaPolicy)
class SlaPolicyAdmin(RecomputesTimers, admin.ModelAdmin):
    list_display = [
        "position",
        "name",
        "is_active",
        "platform",
        "intent",
        "min_priority",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "at_risk_percent",
    ]
    list_display_links = ["name"]
    list_filter = ["is_active", "platform", "intent"]
    fieldsets = [
        (None, {"fields": ["name", "position", "is_active"]}),
        (
            "Applies to",
            {
                "fields": ["platform", "intent", "min_priority", "min_followers", "verified_only"],
                "description": "Empty conditions match every conversation.",
            },
        ),
        (
            "Targets (business minutes)",
            {
                "fields": [
                    "first_response_minutes",
                    "next_response_minutes",
                    "resolution_minutes",
                    "at_risk_percent",
                ]
            },
        ),
        ("On breach", {"fields": ["raise_priority_on_breach", "reassign_team_on_breach"]}),
    ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _recompute_after_commit()


@admin.register(SlaTimer)
class SlaTimerAdmin(admin.ModelAdmin):
    list_display = ["conversation", "kind", "state", "due_at", "stopped_at", "business_seconds"]
    list_filter = ["kind", "state"]
    readonly_fields = [field.name for field in SlaTimer._meta.fields]

    def has_add_permission(self, request):
        return False
