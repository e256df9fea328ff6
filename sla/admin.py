from django.contrib import admin

from .models import SlaPolicy


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "name",
        "is_active",
        "platform",
        "min_priority",
        "first_response_minutes",
    ]
    list_display_links = ["name"]
