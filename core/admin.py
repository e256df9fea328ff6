from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path

from .models import (
    AgentProfile,
    Conversation,
    Customer,
    IntegrationDelivery,
    IntegrationEvent,
    IntegrationWebhook,
    Post,
    ReplyTemplate,
    ReplyTemplateVariant,
    Tag,
    Team,
)
from .realtime import broadcast_conversation
from .reply_templates import REPLY_VARIABLES, check_template, preview, variables_help

admin.site.register(Tag)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_default", "assignment_strategy"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "capacity", "is_online"]
    filter_horizontal = ["teams"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["handle", "platform", "display_name", "follower_count", "is_verified"]
    list_filter = ["platform", "is_verified"]
    search_fields = ["handle", "display_name", "external_id"]


class PostInline(admin.TabularInline):
    model = Post
    fields = ["direction", "created_at", "text", "intent", "priority", "delivery_status"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "customer",
        "account",
        "status",
        "team",
        "assignee",
        "priority",
        "intent",
        "created_at",
        "first_response_at",
    ]
    list_filter = ["status", "team", "priority", "intent", "account__platform"]
    list_select_related = ["customer", "account", "team", "assignee"]
    search_fields = ["customer__handle"]
    raw_id_fields = ["customer"]
    inlines = [PostInline]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        # The inboxes and open pages hear of it; pages of agents outside a new team close,
        # and the inboxes of the team it left drop it.
        team_before = form.initial.get("team") if change else None
        left = team_before if team_before != obj.team_id else None
        transaction.on_commit(
            lambda: broadcast_conversation(obj.pk, event="conversation.edited", left_team_id=left)
        )


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "platform",
        "external_id",
        "direction",
        "intent",
        "priority",
        "created_at",
        "delivery_status",
    ]
    list_filter = ["platform", "direction", "intent", "delivery_status"]
    search_fields = ["external_id", "text"]
    raw_id_fields = ["conversation", "customer", "agent"]


class CheckedBodyForm(forms.ModelForm):
    """A template body that does not parse, or reads a variable replies do not offer, is a
    form error, not "Hi , thanks!" sent to a customer later."""

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        check_template(body, REPLY_VARIABLES)
        return body


class ReplyTemplateForm(CheckedBodyForm):
    class Meta:
        model = ReplyTemplate
        fields = ["name", "team", "intent", "body"]
        help_texts = {"body": "Variables: " + variables_help(REPLY_VARIABLES) + "."}


class ReplyTemplateVariantForm(CheckedBodyForm):
    class Meta:
        model = ReplyTemplateVariant
        fields = ["platform", "body"]


class ReplyTemplateVariantInline(admin.TabularInline):
    model = ReplyTemplateVariant
    form = ReplyTemplateVariantForm
    extra = 0


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    """The form lists the variables and previews the body, as typed, on a sample
    conversation (static/parley_admin/reply_template_preview.js asks preview_view)."""

    form = ReplyTemplateForm
    list_display = ["name", "team", "intent"]
    list_filter = ["team", "intent"]
    search_fields = ["name", "body"]
    inlines = [ReplyTemplateVariantInline]
    change_form_template = "admin/core/replytemplate/change_form.html"

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", preview, name="core_replytemplate_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """POST body=…: the text a customer would read, or why the body cannot be used."""
        if request.method != "POST":
            return JsonResponse({"error": "POST a body to preview."}, status=405)
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            text = preview(request.POST.get("body", ""), agent=request.user)
        except ValidationError as error:
            return JsonResponse({"error": " ".join(error.messages)}, status=400)
        return JsonResponse({"text": text})

    def render_change_form(self, request, context, *args, **kwargs):
        context["reply_variables"] = REPLY_VARIABLES
        return super().render_change_form(request, context, *args, **kwargs)


class IntegrationWebhookForm(forms.ModelForm):
    signing_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave empty to keep the current key.",
    )
    events = forms.MultipleChoiceField(
        choices=IntegrationEvent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = IntegrationWebhook
        fields = ["name", "url", "events", "is_active"]

    def save(self, commit: bool = True) -> IntegrationWebhook:
        webhook = super().save(commit=False)
        if self.cleaned_data["signing_key"]:
            webhook.secret = {"key": self.cleaned_data["signing_key"]}
        if commit:
            webhook.save()
        return webhook


@admin.register(IntegrationWebhook)
class IntegrationWebhookAdmin(admin.ModelAdmin):
    form = IntegrationWebhookForm
    list_display = ["name", "url", "is_active"]


@admin.register(IntegrationDelivery)
class IntegrationDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "webhook", "created_at", "delivered_at", "attempts", "last_error"]
    list_filter = ["event", "webhook"]
    readonly_fields = [f.name for f in IntegrationDelivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
