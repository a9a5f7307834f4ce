"""Sign-up, log-in (throttled), password reset by email (throttled) and the profile page (log-out is
Django's own view)."""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from jobs import money, services
from jobs.forms import ProfileForm, SignUpForm
from jobs.http import AuthenticatedRequest
from jobs.views.budgets import budget_section
from marketplace import throttle
from worker import tasks

# How many reset requests one typed email address, or one client, may make in LOGIN_THROTTLE's
# LOCKOUT_MINUTES: enough to ask again for a lost email, too few to flood someone's inbox.
RESET_REQUESTS_PER_EMAIL = 3
RESET_REQUESTS_PER_CLIENT = 10


class LoginView(auth_views.LoginView):
    """Django's log-in page; an account or a client locked out after too many failures gets 429, the
    form saying how long to wait, and a Retry-After header."""

    template_name = "jobs/login.html"
    authentication_form = throttle.LoginForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        locked = form.lockout if isinstance(form, throttle.LoginForm) else None
        if locked is not None:
            response.status_code = 429
            response["Retry-After"] = str(locked.seconds)
        return response


def signup(request: HttpRequest) -> HttpResponse:
    """Creates an account with its email address and roles, and logs the person in."""
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        roles = form.cleaned_data["roles"]
        user = services.user_create(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            is_funder="funder" in roles,
            is_provider="provider" in roles,
            email=form.cleaned_data["email"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Add your wallet address to start paying or getting paid.")
        return redirect("profile")
    return render(request, "jobs/signup.html", {"form": form})


def reset_subjects(request: HttpRequest, email: str) -> list[throttle.Subject]:
    """What a reset request counts against: the email typed (whether or not an account uses it, so a
    refusal says nothing about accounts) and the client."""
    return [
        # Counted apart from failed log-ins: asking for a link must not lock anyone out of logging in.
        throttle.subject("password-reset-email", email.strip().casefold(), RESET_REQUESTS_PER_EMAIL),
        throttle.subject(
            "password-reset-client", throttle.client_address(request), RESET_REQUESTS_PER_CLIENT
        ),
    ]


def too_many_resets(locked: throttle.Lockout) -> str:
    """What the person is told while their reset requests are refused."""
    minutes = max(1, math.ceil(locked.seconds / 60))
    return f"Too many reset requests. Try again in {minutes} minute{'' if minutes == 1 else 's'}."


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request: the same answer, in the same time, whether or not an account uses the
    email (a worker looks it up and sends the link, `worker.accounts`), and too many requests refused
    with 429 and a Retry-After header."""

    template_name = "jobs/password_reset.html"
    success_url = reverse_lazy("password-reset-sent")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        subjects = reset_subjects(self.request, form.cleaned_data["email"])
        locked = throttle.lockout(*subjects)
        if locked is not None:
            form.add_error(None, too_many_resets(locked))
            response = self.form_invalid(form)
            response.status_code = 429
            response["Retry-After"] = str(locked.seconds)
            return response
        throttle.fail(*subjects)
        tasks.password_reset.delay_on_commit(form.cleaned_data["email"])
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's page behind the emailed link: sets the new password, once (an old or used link is
    refused), and lifts a log-in lock-out of the account, since its owner just proved who they are."""

    template_name = "jobs/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-done")

    def form_valid(self, form: SetPasswordForm[Any]) -> HttpResponse:
        response = super().form_valid(form)
        user: User = form.user
        throttle.forget(throttle.account(user.get_username()))
        return response


password_reset_sent = auth_views.PasswordResetDoneView.as_view(template_name="jobs/password_reset_sent.html")
password_reset_done = auth_views.PasswordResetCompleteView.as_view(
    template_name="jobs/password_reset_done.html"
)


@login_required
def profile(request: AuthenticatedRequest) -> HttpResponse:
    """Roles and wallet address; a wallet the resolver refuses is shown with its reason, nothing saved.
    A funder also sees their budget (and asks a worker what it spent, when that figure is stale)."""
    current = services.profile_get_or_create(request.user)
    form = ProfileForm(request.POST or None, profile=current, email=request.user.email)
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=request.user, email=form.cleaned_data["email"], **form.profile_fields())
        messages.success(request, "Profile saved.")
        return redirect("profile")
    budgets = budget_section(request.user, current, refresh=request.method == "GET")
    context = {
        "form": form,
        "profile": current,
        "currency": money.currency_name(current.asset_code),
        **budgets,
    }
    return render(request, "jobs/profile.html", context)
