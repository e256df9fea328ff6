from django.contrib import admin

from .models import RoutingRule


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "name",
        "is_active",
        "platform",
        "intent",
        "min_priority",
        "keywords",
        "team",
    ]
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]
