"""Sign-up and the profile page (log-in and log-out are Django's own views)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from jobs import services
from jobs.forms import ProfileForm, SignUpForm
from jobs.http import AuthenticatedRequest


def signup(request: HttpRequest) -> HttpResponse:
    """Creates an account with its roles and logs the person in."""
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_create(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            is_funder=form.cleaned_data["is_funder"],
            is_provider=form.cleaned_data["is_provider"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Add your wallet address to start paying or getting paid.")
        return redirect("profile")
    return render(request, "jobs/signup.html", {"form": form})


@login_required
def profile(request: AuthenticatedRequest) -> HttpResponse:
    """Roles and wallet address; a wallet the resolver refuses is shown with its reason, nothing saved."""
    current = services.profile_get_or_create(request.user)
    form = ProfileForm(request.POST or None, profile=current)
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=request.user, **form.profile_fields())
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(request, "jobs/profile.html", {"form": form, "profile": current})
