"""Bringing people in: an admin invites an agent by e-mail (teams and role in one form; the
invitation is a set-password link), and every agent keeps their own profile (display name,
signature, how they are notified). Thin views over `invite_agent` and `update_profile`."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import AbstractBaseUser, Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core import roles
from core.models import AgentPreferences, AgentProfile, Team

from .agent_locale import (
    activate_choice,
    agent_locale,
    is_language,
    is_time_zone,
    remember_locale,
    time_zone_names,
)

ROLE_CHOICES = [
    (roles.AGENT, _("Agent: works the conversations of their teams")),
    (roles.SUPERVISOR, _("Supervisor: sees every team, dashboards and SLA alerts")),
    (roles.ADMIN, _("Admin: also changes settings in the admin")),
]


class _StackedForm(forms.Form):
    """A form whose labels stand above their fields, or after a checkbox: no colon."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class InviteForm(_StackedForm):
    email = forms.EmailField(label=_("E-mail"))
    first_name = forms.CharField(max_length=150, required=False, label=_("First name"))
    last_name = forms.CharField(max_length=150, required=False, label=_("Last name"))
    teams = forms.ModelMultipleChoiceField(
        Team.objects.all(), widget=forms.CheckboxSelectMultiple, required=False, label=_("Teams")
    )
    role = forms.ChoiceField(
        choices=ROLE_CHOICES, initial=roles.AGENT, widget=forms.RadioSelect, label=_("Role")
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        User = get_user_model()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("Someone with this e-mail address is already here."))
        return email


@dataclass(frozen=True)
class Invitation:
    user: AbstractBaseUser
    link: str


def invitation_link(user: AbstractBaseUser) -> str:
    """The set-password link: valid until used or PASSWORD_RESET_TIMEOUT passes."""
    path = reverse(
        "invitation_accept",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def invite_agent(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    teams: list[Team] | tuple = (),
    role: str = roles.AGENT,
    invited_by: AbstractBaseUser | None = None,
) -> Invitation:
    """Create the agent (no usable password yet: the link sets it), their profile in
    `teams`, their role, and e-mail them the set-password link after commit."""
    User = get_user_model()
    with transaction.atomic():
        username = email
        user = User(
            username=username,
            email=email,
            first_name=first_name,
            last_name=last_name,
            is_staff=role == roles.ADMIN,
        )
        user.set_unusable_password()
        user.save()
        roles.ensure_roles()
        user.groups.add(Group.objects.get(name=role))
        profile = AgentProfile.objects.create(user=user)
        profile.teams.set(teams)
        AgentPreferences.objects.create(user=user)
        link = invitation_link(user)
        inviter = (
            (invited_by.get_full_name() or invited_by.get_username()) if invited_by else "Parley"
        )
        body = render_to_string(
            "people/invitation_email.txt",
            {"user": user, "link": link, "inviter": inviter, "teams": list(teams)},
        )
        transaction.on_commit(
            lambda: send_mail(f"{inviter} invites you to Parley", body, None, [email])
        )
    return Invitation(user=user, link=link)


@login_required
@permission_required("auth.add_user", raise_exception=True)
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        invitation = invite_agent(
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            teams=list(data["teams"]),
            role=data["role"],
            invited_by=request.user,
        )
        messages.success(
            request,
            gettext("Invitation sent to %(email)s: they choose their password.")
            % {"email": invitation.user.email},
        )
        return redirect("invite_agent")
    return render(
        request,
        "people/invite.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def _language_choices() -> list[tuple[str, str]]:
    return [("", gettext("As my browser says")), *settings.LANGUAGES]


def _time_zone_choices() -> list[tuple[str, str]]:
    server = gettext("The server's zone (%(zone)s)") % {"zone": settings.TIME_ZONE}
    return [("", server), *((name, name.replace("_", " ")) for name in time_zone_names())]


class ProfileForm(_StackedForm):
    first_name = forms.CharField(max_length=150, required=False, label=_("First name"))
    last_name = forms.CharField(max_length=150, required=False, label=_("Last name"))
    signature = forms.CharField(
        max_length=100,
        required=False,
        label=_("Signature"),
        help_text=_("Ends your replies where a template says so."),
    )
    language = forms.ChoiceField(choices=_language_choices, required=False, label=_("Language"))
    time_zone = forms.ChoiceField(
        choices=_time_zone_choices,
        required=False,
        label=_("Time zone"),
        help_text=_("Pages and CSV exports show times in it."),
    )
    notify_in_page = forms.BooleanField(
        required=False, label=_("In-page notices for SLA alerts, mentions and assignments")
    )
    notify_desktop = forms.BooleanField(
        required=False, label=_("Desktop notifications too (your browser will ask)")
    )
    notify_by_email = forms.BooleanField(
        required=False, label=_("E-mail me when I am @mentioned in a note")
    )


PREFERENCE_FIELDS = ["signature", "notify_in_page", "notify_desktop", "notify_by_email"]
LOCALE_FIELDS = ["language", "time_zone"]


def update_profile(*, user: AbstractBaseUser, data: dict) -> AgentPreferences:
    """Save the agent's own name, preferences, language and time zone (an unknown language
    or zone is a ValueError: the form offers only known ones)."""
    language, zone = data.get("language", ""), data.get("time_zone", "")
    if language and not is_language(language):
        raise ValueError(f"Unknown language {language!r}.")
    if zone and not is_time_zone(zone):
        raise ValueError(f"Unknown time zone {zone!r}.")
    with transaction.atomic():
        user.first_name, user.last_name = data["first_name"], data["last_name"]
        user.save(update_fields=["first_name", "last_name"])
        preferences, _created = AgentPreferences.objects.get_or_create(user=user)
        for name in PREFERENCE_FIELDS:
            setattr(preferences, name, data[name])
        preferences.save()
        profile, _created = AgentProfile.objects.get_or_create(user=user)
        profile.language, profile.time_zone = language, zone
        profile.save(update_fields=LOCALE_FIELDS)
    return preferences


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    preferences, _created = AgentPreferences.objects.get_or_create(user=request.user)
    initial = {
        "first_name": request.user.first_name,
        "last_name": request.user.last_name,
        **{name: getattr(preferences, name) for name in PREFERENCE_FIELDS},
        **agent_locale(request.user),
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        update_profile(user=request.user, data=form.cleaned_data)
        # This very response (the redirect's target) already speaks the new language.
        choice = {name: form.cleaned_data[name] for name in LOCALE_FIELDS}
        remember_locale(request, choice)
        activate_choice(request, choice)
        messages.success(request, gettext("Profile saved."))
        return redirect("profile")
    return render(
        request,
        "people/profile.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )
