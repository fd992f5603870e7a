"""Sign-in, two-factor, profile, password and API tokens of the signed-in user."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from groupcrm.core.errors import ValidationError
from groupcrm.core.ui import apply_errors
from groupcrm.org import selectors, services
from groupcrm.org.forms import CodeForm, PasswordChangeForm, TokenForm, UserEditForm


def _next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    return target if url_has_allowed_host_and_scheme(target, {request.get_host()}) else default


def _with_language(response: HttpResponse, language: str) -> HttpResponse:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        user = form.get_user()
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            response = redirect(f"/accounts/2fa/verify/?next={self.get_success_url()}")
        return _with_language(response, user.language)


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip()
        for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(code):
                otp_login(request, device)
                return redirect(_next(request))
        form.add_error("code", _("The code is not valid. Check the time on your phone."))
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next(request)}
    )


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    """Show a QR code for a new authenticator and confirm it with a first code."""
    actor = request.actor
    form = CodeForm(request.POST or None)
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).last()
    if request.method == "POST" and device and form.is_valid():
        try:
            device = services.totp_enrol_confirm(actor=actor, code=form.cleaned_data["code"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on."))
            return redirect(_next(request, "/profile/"))
    if device is None or request.method == "GET":
        device = services.totp_enrol_start(actor=actor)
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "registration/two_factor_enrol.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url),
            "secret": secret,
            "next": _next(request, ""),
        },
    )


@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    services.totp_disable(actor=request.actor, pk=request.user.pk)
    messages.success(request, _("Two-factor authentication is off."))
    return redirect("profile")


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    user = request.user
    fields = ("display_name", "email", "phone", "title", "language")
    form = UserEditForm(request.POST or None, initial={f: getattr(user, f) for f in fields})
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_update(actor=actor, pk=user.pk, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Profile saved."))
            return _with_language(redirect("profile"), user.language)
    return render(
        request,
        "org/profile.html",
        {
            "form": form,
            "memberships": selectors.membership_list(actor=actor, user=user),
            "two_factor": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
            "tokens": selectors.token_list(actor=actor),
            "token_form": TokenForm(),
            "new_token": request.session.pop("new_token", None),
        },
    )


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_set_password(
                actor=request.actor,
                pk=request.user.pk,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Password changed."))
            return redirect("profile")
    return render(
        request, "form.html", {"form": form, "title": _("Change password"), "back": "/profile/"}
    )


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = services.token_create(actor=request.actor, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, "; ".join(m for msgs in exc.fields.values() for m in msgs))
        else:
            # Shown once on the next page, then gone from the session.
            request.session["new_token"] = {"name": token.name, "secret": secret}
    else:
        messages.error(request, _("Check the token's name, scope and validity."))
    return redirect("profile")


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    services.token_revoke(actor=request.actor, pk=pk)
    messages.success(request, _("Token revoked."))
    return redirect("profile")
