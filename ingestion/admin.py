"""Admin for the brand's platform accounts: credentials (write-only), listening queries,
poll interval, and what polling last saw: when, rate-limit state, errors."""

from django import forms
from django.contrib import admin, messages

from core.models import Platform
from reliability.redaction import redact

from .models import CustomerLink, LinkStatus, PlatformAccount, WebhookDelivery
from .services import check_connection

# (credential key, label). Entered values are stored in `credentials`, never shown back.
SECRET_FIELDS = [
    ("bearer_token", "X bearer token (reads)"),
    ("consumer_key", "X API key"),
    ("consumer_secret", "X API key secret (also signs webhooks)"),
    ("access_token", "X access token (replies, DMs)"),
    ("access_token_secret", "X access token secret"),
    ("page_access_token", "Facebook / Instagram page access token"),
    ("app_secret", "Meta app secret (signs webhooks)"),
]
X_FIELDS = (
    "bearer_token",
    "consumer_key",
    "consumer_secret",
    "access_token",
    "access_token_secret",
)
META_FIELDS = ("page_access_token", "app_secret")
# Which credentials belong to which platform: no Meta fields on an X account, and back.
PLATFORM_FIELDS = {
    Platform.TWITTER: (*X_FIELDS, "read_direct_messages"),
    Platform.FACEBOOK: META_FIELDS,
    Platform.INSTAGRAM: (*META_FIELDS, "page_id"),
    Platform.DEMO: (),
}
CREDENTIAL_FIELDS = (*(key for key, _ in SECRET_FIELDS), "page_id", "read_direct_messages")


def _secret_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, strip=True, widget=forms.PasswordInput(render_value=False)
    )


class PlatformAccountForm(forms.ModelForm):
    bearer_token = _secret_field(dict(SECRET_FIELDS)["bearer_token"])
    consumer_key = _secret_field(dict(SECRET_FIELDS)["consumer_key"])
    consumer_secret = _secret_field(dict(SECRET_FIELDS)["consumer_secret"])
    access_token = _secret_field(dict(SECRET_FIELDS)["access_token"])
    access_token_secret = _secret_field(dict(SECRET_FIELDS)["access_token_secret"])
    page_access_token = _secret_field(dict(SECRET_FIELDS)["page_access_token"])
    app_secret = _secret_field(dict(SECRET_FIELDS)["app_secret"])
    read_direct_messages = forms.BooleanField(
        required=False, label="Read X direct messages (needs DM access on the X app)"
    )
    page_id = forms.CharField(
        required=False,
        max_length=100,
        label="Linked Facebook Page id (Instagram: messages go through it)",
    )

    class Meta:
        model = PlatformAccount
        fields = [
            "platform",
            "handle",
            "external_id",
            "display_name",
            "is_active",
            "listening_queries",
            "poll_interval_seconds",
            "is_healthy",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.credentials or {}
        for key, _ in SECRET_FIELDS:
            if stored.get(key):
                self.fields[key].help_text = "Stored; leave blank to keep it."
        self.initial["read_direct_messages"] = bool(stored.get("read_direct_messages"))
        self.initial["page_id"] = stored.get("page_id", "")
        if self.instance.pk:
            # An existing account shows only its own platform's credentials.
            wanted = PLATFORM_FIELDS.get(self.instance.platform, ())
            for key in CREDENTIAL_FIELDS:
                if key not in wanted:
                    self.fields.pop(key, None)

    def clean_handle(self) -> str:
        # "@@acme", " @acme " and "acme" are one handle.
        handle = self.cleaned_data["handle"].strip().lstrip("@").strip()
        if not handle:
            raise forms.ValidationError("Enter the account's handle, without the @.")
        return handle

    def clean_external_id(self) -> str:
        return self.cleaned_data["external_id"].strip()

    def clean(self):
        cleaned = super().clean()
        platform = cleaned.get("platform") or self.instance.platform
        if not platform:
            return cleaned
        wanted = PLATFORM_FIELDS.get(platform, ())
        foreign = [
            key
            for key in CREDENTIAL_FIELDS
            if key not in wanted and key in self.fields and cleaned.get(key)
        ]
        for key in foreign:
            self.add_error(
                key, f"Not a credential of a {Platform(platform).label} account; leave it empty."
            )
        stored = self.instance.credentials or {} if self.instance.pk else {}

        def has(key: str) -> bool:
            return bool(cleaned.get(key) or stored.get(key))

        if platform == Platform.TWITTER and not (
            has("bearer_token") or all(has(key) for key in X_FIELDS[1:])
        ):
            raise forms.ValidationError(
                "An X account needs credentials: a bearer token to read, and the API key, "
                "key secret, access token and secret to reply (or connect it with X)."
            )
        if platform in {Platform.FACEBOOK, Platform.INSTAGRAM} and not has("page_access_token"):
            raise forms.ValidationError(
                "A Facebook or Instagram account needs a page access token (or connect it "
                "with Facebook)."
            )
        external_id = cleaned.get("external_id")
        if external_id:
            twins = PlatformAccount.objects.filter(platform=platform, external_id=external_id)
            if self.instance.pk:
                twins = twins.exclude(pk=self.instance.pk)
            twin = twins.first()
            if twin is not None:
                self.add_error(
                    "external_id",
                    f"{twin} already has this {Platform(platform).label} id: one account per "
                    "platform account, or webhook deliveries could not tell them apart.",
                )
        return cleaned

    def save(self, commit=True):
        account = super().save(commit=False)
        credentials = dict(account.credentials or {})
        for key, _ in SECRET_FIELDS:
            if self.cleaned_data.get(key):
                credentials[key] = self.cleaned_data[key]
        if "read_direct_messages" in self.fields:
            credentials["read_direct_messages"] = self.cleaned_data["read_direct_messages"]
        if self.cleaned_data.get("page_id"):
            credentials["page_id"] = self.cleaned_data["page_id"].strip()
        account.credentials = credentials
        if commit:
            account.save()
        return account


@admin.register(PlatformAccount)
class PlatformAccountAdmin(admin.ModelAdmin):
    form = PlatformAccountForm
    list_display = [
        "handle",
        "platform",
        "is_active",
        "is_healthy",
        "poll_interval_seconds",
        "last_polled_at",
        "rate_limited_until",
        "consecutive_failures",
        "last_poll_error",
    ]
    list_filter = ["platform", "is_active", "is_healthy"]
    search_fields = ["handle", "external_id"]
    readonly_fields = [
        "credentials_set",
        "last_polled_at",
        "next_poll_at",
        "last_poll_error",
        "consecutive_failures",
        "rate_limited_until",
        "rate_limit_state",
        "poll_cursor",
    ]
    fieldsets = [
        (None, {"fields": ["platform", "handle", "external_id", "display_name", "is_active"]}),
        (
            "Credentials",
            {
                "fields": [
                    "credentials_set",
                    *(key for key, _ in SECRET_FIELDS),
                    "read_direct_messages",
                    "page_id",
                ]
            },
        ),
        ("Polling", {"fields": ["listening_queries", "poll_interval_seconds"]}),
        (
            "Status",
            {
                "fields": [
                    "is_healthy",
                    "last_polled_at",
                    "next_poll_at",
                    "last_poll_error",
                    "consecutive_failures",
                    "rate_limited_until",
                    "rate_limit_state",
                    "poll_cursor",
                ]
            },
        ),
    ]
    actions = ["mark_healthy", "test_connection"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        # Only the account's own platform's credentials (the form dropped the others).
        wanted = PLATFORM_FIELDS.get(obj.platform, ())
        return [
            (
                name,
                {
                    **options,
                    "fields": [
                        field
                        for field in options["fields"]
                        if field not in CREDENTIAL_FIELDS or field in wanted
                    ],
                },
            )
            for name, options in fieldsets
        ]

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset):
        for account in queryset:
            for check in check_connection(account_id=account.pk):
                self.message_user(
                    request,
                    redact(f"{account}: {check.capability}: {check.detail}"),
                    messages.SUCCESS if check.works else messages.WARNING,
                )

    @admin.display(description="Credentials stored")
    def credentials_set(self, account: PlatformAccount) -> str:
        names = sorted(key for key, value in (account.credentials or {}).items() if value)
        return ", ".join(names) or "none"

    @admin.action(description="Mark healthy and poll again")
    def mark_healthy(self, request, queryset):
        count = queryset.update(
            is_healthy=True, consecutive_failures=0, next_poll_at=None, last_poll_error=""
        )
        self.message_user(request, f"{count} account(s) will be polled again.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "platform", "received_at", "processed_at", "error"]
    list_filter = ["platform"]
    readonly_fields = ["platform", "body_text", "body", "received_at", "processed_at", "error"]


@admin.register(CustomerLink)
class CustomerLinkAdmin(admin.ModelAdmin):
    """Suggested and confirmed links between one person's identities; add one to link by hand."""

    list_display = ["customer", "other", "status", "reason", "created_at"]
    list_filter = ["status"]
    list_select_related = ["customer", "other"]
    autocomplete_fields = ["customer", "other"]
    actions = ["confirm", "reject"]

    @admin.action(description="Confirm: these identities are one person")
    def confirm(self, request, queryset):
        count = queryset.update(status=LinkStatus.CONFIRMED)
        self.message_user(request, f"{count} link(s) confirmed.", messages.SUCCESS)

    @admin.action(description="Reject: different people")
    def reject(self, request, queryset):
        count = queryset.update(status=LinkStatus.REJECTED)
        self.message_user(request, f"{count} link(s) rejected.", messages.SUCCESS)
