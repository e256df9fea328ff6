from django.contrib import admin

from .models import PlatformAccount


@admin.register(PlatformAccount)
class PlatformAccountAdmin(admin.ModelAdmin):
    list_display = ["handle", "platform", "is_active", "last_polled_at", "last_poll_error"]
    list_filter = ["platform", "is_active"]
    readonly_fields = ["poll_cursor", "last_polled_at", "last_poll_error"]
