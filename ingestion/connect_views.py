"""The admin's "Connect with Facebook / Instagram" and "Connect X" pages: thin edges over
ingestion.connect. Staff only; every refusal comes back as a message saying why."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from reliability.redaction import redact

from . import connect

ACCOUNTS = "admin:ingestion_platformaccount_changelist"


def _back(request: HttpRequest, text: str, level: int = messages.ERROR) -> HttpResponse:
    # A platform's refusal may quote the request it refused: no token reaches the page.
    messages.add_message(request, level, redact(text))
    return redirect(ACCOUNTS)


@staff_member_required
def meta_start(request: HttpRequest) -> HttpResponse:
    if not (settings.META_APP_ID and settings.META_APP_SECRET):
        return _back(request, "Set META_APP_ID and META_APP_SECRET to connect with Facebook.")
    state = secrets.token_urlsafe(24)
    request.session["connect_meta_state"] = state
    redirect_uri = request.build_absolute_uri(reverse("connect:meta-callback"))
    return redirect(connect.meta_login_url(redirect_uri=redirect_uri, state=state))


@staff_member_required
@require_http_methods(["GET", "POST"])
def meta_callback(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _meta_pick(request)
    expected = request.session.pop("connect_meta_state", None)
    if not expected or not secrets.compare_digest(request.GET.get("state", ""), expected):
        return _back(request, "This Facebook login was not started here; start again.")
    if "error" in request.GET:
        reason = request.GET.get("error_description") or request.GET["error"]
        return _back(request, f"Facebook login cancelled: {reason}")
    redirect_uri = request.build_absolute_uri(reverse("connect:meta-callback"))
    try:
        choices = connect.meta_pages(code=request.GET.get("code", ""), redirect_uri=redirect_uri)
    except connect.ConnectRefused as error:
        return _back(request, str(error))
    request.session["connect_meta_pages"] = connect.page_choices_to_session(choices)
    return render(request, "ingestion/connect_pages.html", {"choices": choices})


def _meta_pick(request: HttpRequest) -> HttpResponse:
    choices = {
        choice.page_id: choice
        for choice in connect.page_choices_from_session(request.session.get("connect_meta_pages"))
    }
    picked = [choices[page_id] for page_id in request.POST.getlist("page") if page_id in choices]
    if not picked:
        return _back(request, "No Page picked: nothing connected.", messages.WARNING)
    with_instagram = set(request.POST.getlist("instagram"))
    for choice in picked:
        try:
            accounts = connect.connect_meta_page(
                choice=choice, with_instagram=choice.page_id in with_instagram
            )
        except connect.ConnectRefused as error:
            messages.error(request, redact(str(error)))
            continue
        messages.success(
            request,
            gettext("Connected %(accounts)s.") % {"accounts": ", ".join(str(a) for a in accounts)},
        )
    request.session.pop("connect_meta_pages", None)
    return redirect(ACCOUNTS)


@staff_member_required
def x_start(request: HttpRequest) -> HttpResponse:
    if not (settings.X_CONSUMER_KEY and settings.X_CONSUMER_SECRET):
        return _back(request, "Set X_CONSUMER_KEY and X_CONSUMER_SECRET to connect X.")
    callback = request.build_absolute_uri(reverse("connect:x-callback"))
    try:
        url, request_token = connect.x_authorisation(callback=callback)
    except connect.ConnectRefused as error:
        return _back(request, str(error))
    request.session["connect_x_request_token"] = request_token
    return redirect(url)


@staff_member_required
def x_callback(request: HttpRequest) -> HttpResponse:
    request_token = request.session.pop("connect_x_request_token", None)
    if "denied" in request.GET:
        return _back(request, "X login cancelled: the account was not authorised.")
    try:
        account = connect.connect_x_account(
            request_token=request_token or {},
            oauth_token=request.GET.get("oauth_token", ""),
            verifier=request.GET.get("oauth_verifier", ""),
        )
    except connect.ConnectRefused as error:
        return _back(request, str(error))
    return _back(request, f"Connected {account}.", messages.SUCCESS)
