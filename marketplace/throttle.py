"""Log-in throttling: too many failed log-ins for one account, or from one client, lock it out for a while.

A log-in checks `lockout()` before it looks at the password (so a right password is refused too while
locked out), counts a wrong one with `fail()`, and clears the account's count with `forget()` once it
succeeds. The counts live in the database, so every web process and server shares them.

Settings: LOGIN_THROTTLE (ACCOUNT_FAILURES, CLIENT_FAILURES, LOCKOUT_MINUTES, CLIENT_IP_HEADER).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from marketplace.models import LoginFailures


@dataclass(frozen=True)
class Lockout:
    """A lock-out in force: how long it still lasts."""

    seconds: int

    @property
    def message(self) -> str:
        """What the person (or the API caller) is told."""
        minutes = max(1, math.ceil(self.seconds / 60))
        return f"Too many failed log-ins. Try again in {minutes} minute{'' if minutes == 1 else 's'}."


@dataclass(frozen=True)
class Subject:
    """What failures are counted against (an account or a client), by a key that does not reveal it."""

    key: str
    limit: int


def subject(kind: str, value: str, limit: int) -> Subject:
    """What is counted under `kind` (an account, a client, a reset email) for `value`, by a key that
    does not reveal it."""
    digest = salted_hmac("marketplace.throttle", f"{kind}:{value}", algorithm="sha256").hexdigest()
    return Subject(key=digest, limit=limit)


def _config(name: str) -> Any:
    return settings.LOGIN_THROTTLE[name]


def account(username: str) -> Subject:
    """The account a log-in names (whether or not it exists; case does not matter)."""
    return subject("account", username.strip().casefold(), _config("ACCOUNT_FAILURES"))


def client_address(request: HttpRequest) -> str:
    """The address of the client: REMOTE_ADDR, or behind a proxy the last address of CLIENT_IP_HEADER
    (the one the proxy appended; those before it are whatever the client sent)."""
    header = _config("CLIENT_IP_HEADER")
    if header:
        forwarded = [part.strip() for part in request.headers.get(header, "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def client(request: HttpRequest) -> Subject:
    """The client a request comes from."""
    return subject("client", client_address(request), _config("CLIENT_FAILURES"))


def lockout(*subjects: Subject, now: datetime | None = None) -> Lockout | None:
    """The longest lock-out in force on any of `subjects` (at `now`, by default the present), or None."""
    now = now or timezone.now()
    until = (
        LoginFailures.objects.filter(key__in=[s.key for s in subjects], locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )
    return None if until is None else Lockout(seconds=math.ceil((until - now).total_seconds()))


def fail(*subjects: Subject) -> Lockout | None:
    """Counts one failed log-in against each of `subjects`; the lock-out in force after it, if any."""
    now = timezone.now()
    period = timedelta(minutes=_config("LOCKOUT_MINUTES"))
    with transaction.atomic():
        # Counts whose window and lock-out are both over are only clutter.
        LoginFailures.objects.filter(window_started_at__lte=now - period).filter(
            Q(locked_until__isnull=True) | Q(locked_until__lte=now)
        ).delete()
        for subject in subjects:
            row, _ = LoginFailures.objects.select_for_update().get_or_create(
                key=subject.key, defaults={"window_started_at": now}
            )
            if row.window_started_at <= now - period:
                row.failures, row.window_started_at = 0, now
            row.failures += 1
            if row.failures >= subject.limit:
                row.locked_until = now + period
            row.save()
    return lockout(*subjects, now=now)


def forget(subject: Subject) -> None:
    """Clears the failures counted against `subject` (an account after its owner logged in)."""
    LoginFailures.objects.filter(key=subject.key).delete()


class LoginForm(AuthenticationForm):
    """Django's log-in form, refusing an account or a client that failed too often.

    `lockout` is set when the form was refused for that reason (the view answers 429 then).
    """

    lockout: Lockout | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        subjects = [account(username)] if username else []
        if self.request is not None:
            subjects.append(client(self.request))
        self.lockout = lockout(*subjects)
        if self.lockout is not None:
            raise ValidationError(self.lockout.message, code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            # Only a wrong password counts (not a right one for an inactive or non-staff account).
            if self.user_cache is None and username and self.cleaned_data.get("password"):
                self.lockout = fail(*subjects)
                if self.lockout is not None:
                    raise ValidationError(self.lockout.message, code="throttled") from None
            raise
        if username:
            forget(account(username))
        return cleaned


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """The admin's log-in form (staff only), throttled like the site's."""
