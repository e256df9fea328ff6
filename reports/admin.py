from django.contrib import admin

from .models import CsatSurvey, CsatTemplate, ReportSchedule, SpikeAlert


@admin.register(CsatTemplate)
class CsatTemplateAdmin(admin.ModelAdmin):
    list_display = ["platform", "is_active", "body"]


@admin.register(CsatSurvey)
class CsatSurveyAdmin(admin.ModelAdmin):
    list_display = ["conversation", "sent_at", "score", "responded_at"]
    list_filter = ["score"]
    raw_id_fields = ["conversation", "message"]
    readonly_fields = ["token", "sent_at", "score", "responded_at"]


@admin.register(SpikeAlert)
class SpikeAlertAdmin(admin.ModelAdmin):
    list_display = ["account", "kind", "keyword", "detected_at", "ended_at", "peak_posts"]
    list_filter = ["kind", "account"]


@admin.register(ReportSchedule)
class ReportScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "period", "is_active", "last_period_start"]
    list_filter = ["period", "is_active"]
    readonly_fields = ["last_period_start", "created_at"]
