"""The admin for what the agents' UI keeps of its own."""

from django.contrib import admin

from .models import Macro


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "template", "add_tag", "set_priority", "set_status", "assign"]
    list_filter = ["team"]
    search_fields = ["name"]
