"""The agents' forms on the conversation page: reply, status and snooze, assignment, notes."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Conversation, ConversationStatus, Team

from .services import BulkAction

REPLY_MAX_CHARS = 5000
NOTE_MAX_CHARS = 5000

# Snoozes an agent can pick; "tomorrow" wakes at the start of the next working morning.
SNOOZE_CHOICES = [("1h", _("1 hour")), ("4h", _("4 hours")), ("tomorrow", _("Tomorrow 9:00"))]
MORNING_HOUR = 9


class ReplyForm(forms.Form):
    text = forms.CharField(
        max_length=REPLY_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("Write a public reply…")}),
        error_messages={"required": _("A reply needs some text.")},
    )
    # The newest post the agent had on screen; a newer one makes the send ask first.
    seen_post_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    channel = forms.ChoiceField(
        choices=[
            ("public", _("Reply in public")),
            ("private", _("Take private: send as a private message, with a public note")),
        ],
        initial="public",
        required=False,
        widget=forms.RadioSelect,
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=ConversationStatus.choices,
        error_messages={"invalid_choice": _("“%(value)s” is not a conversation status.")},
    )


class SnoozeForm(forms.Form):
    snooze = forms.ChoiceField(
        choices=SNOOZE_CHOICES,
        error_messages={"invalid_choice": _("“%(value)s” is not a snooze length.")},
    )

    def wake_at(self, now: datetime | None = None) -> datetime:
        return self.wake_at_for(self.cleaned_data["snooze"], now)

    @staticmethod
    def wake_at_for(choice: str, now: datetime | None = None) -> datetime:
        now = timezone.localtime(now or timezone.now())
        if choice == "tomorrow":
            return (now + timedelta(days=1)).replace(
                hour=MORNING_HOUR, minute=0, second=0, microsecond=0
            )
        return now + timedelta(hours=int(choice.removesuffix("h")))


class AssignForm(forms.Form):
    """`agent` is "me", a teammate's user id, or empty to unassign. `expected_assignee` is the
    assignee the agent saw on the page (empty: nobody), so a change meanwhile is refused."""

    agent = forms.CharField(required=False)
    expected_assignee = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, teammates, acting_user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.teammates = {str(user.pk): user for user in teammates}
        self.acting_user = acting_user

    def clean_agent(self):
        value = self.cleaned_data["agent"].strip()
        if not value:
            return None
        if value == "me":
            return self.acting_user
        if value not in self.teammates:
            raise forms.ValidationError(_("Pick an agent of this conversation's team."))
        return self.teammates[value]


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=NOTE_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("Private note for your team — @mention a colleague")}
        ),
        error_messages={"required": _("A note needs some text.")},
    )


class BulkForm(forms.Form):
    """One action for the conversations selected in the inbox (services.BulkAction).
    `assignee` is "me", a colleague's user id, or empty to unassign."""

    action = forms.ChoiceField(
        choices=BulkAction.choices,
        error_messages={"invalid_choice": _("“%(value)s” is not a bulk action.")},
    )
    assignee = forms.CharField(required=False)
    status = forms.ChoiceField(
        choices=[("", "—"), *ConversationStatus.choices],
        required=False,
        error_messages={"invalid_choice": _("“%(value)s” is not a conversation status.")},
    )
    snooze = forms.ChoiceField(
        choices=[("", "—"), *SNOOZE_CHOICES],
        required=False,
        error_messages={"invalid_choice": _("“%(value)s” is not a snooze length.")},
    )
    tag = forms.CharField(required=False, max_length=50, strip=True)
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(),
        required=False,
        error_messages={"invalid_choice": _("There is no such team.")},
    )

    def __init__(self, *args, colleagues, acting_user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.colleagues = {str(user.pk): user for user in colleagues}
        self.acting_user = acting_user

    def clean_assignee(self):
        value = self.cleaned_data["assignee"].strip()
        if not value:
            return None
        if value == "me":
            return self.acting_user
        if value not in self.colleagues:
            raise forms.ValidationError(_("Pick an agent of your teams."))
        return self.colleagues[value]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == BulkAction.SNOOZE and cleaned.get("snooze"):
            cleaned["snooze_until"] = SnoozeForm.wake_at_for(cleaned["snooze"])
        return cleaned


class MoveTeamForm(forms.Form):
    """The team to hand a conversation to: any team but the one it is in."""

    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), empty_label=None, label=_("Move to")
    )

    def __init__(self, *args, conversation: Conversation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.exclude(pk=conversation.team_id).order_by(
            "name"
        )
