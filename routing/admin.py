from django import forms
from django.contrib import admin
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.models import Platform

from .models import RoutingRule
from .services import try_rule


class SamplePostForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    platform = forms.ChoiceField(choices=Platform.choices, initial=Platform.TWITTER)
    follower_count = forms.IntegerField(min_value=0, initial=100)
    is_verified = forms.BooleanField(required=False)
    tags = forms.CharField(
        required=False, max_length=200, help_text="The conversation's tags, comma-separated."
    )


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
        "has_tag",
        "team",
        "test_link",
    ]
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]

    def get_urls(self):
        test_view = self.admin_site.admin_view(self.test_rule_view)
        return [
            path("<int:rule_id>/test/", test_view, name="routing_routingrule_test"),
            *super().get_urls(),
        ]

    @admin.display(description="Try it")
    def test_link(self, rule: RoutingRule) -> str:
        url = reverse("admin:routing_routingrule_test", args=[rule.pk])
        return format_html('<a href="{}">Test against a sample post</a>', url)

    def test_rule_view(self, request, rule_id: int):
        rule = get_object_or_404(RoutingRule, pk=rule_id)
        if not self.has_view_permission(request, rule):
            return self.admin_site.login(request)
        form = SamplePostForm(request.POST or None)
        trial = try_rule(rule, **form.cleaned_data) if form.is_valid() else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Test “{rule.name}” against a sample post",
            "rule": rule,
            "form": form,
            "trial": trial,
        }
        return TemplateResponse(request, "admin/routing/test_rule.html", context)
