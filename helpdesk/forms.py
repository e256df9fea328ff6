from django import forms

REPLY_MAX_CHARS = 5000


class ReplyForm(forms.Form):
    text = forms.CharField(
        max_length=REPLY_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Write a public reply…"}),
        error_messages={"required": "A reply needs some text."},
    )
