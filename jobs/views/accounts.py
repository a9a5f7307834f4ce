"""Sign-up, log-in (throttled) and the profile page (log-out is Django's own view)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from jobs import services
from jobs.forms import ProfileForm, SignUpForm
from jobs.http import AuthenticatedRequest
from jobs.views.budgets import budget_section
from marketplace import throttle


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
    """Creates an account with its roles and logs the person in."""
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_create(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            is_funder=form.cleaned_data["is_funder"],
            is_provider=form.cleaned_data["is_provider"],
            email=form.cleaned_data.get("email") or "",
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Add your wallet address to start paying or getting paid.")
        return redirect("profile")
    return render(request, "jobs/signup.html", {"form": form})


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
    return render(request, "jobs/profile.html", {"form": form, "profile": current, **budgets})
