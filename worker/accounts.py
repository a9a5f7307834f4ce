"""Account emails: the password-reset link.

The reset page hands the address typed to the task `accounts.password_reset` and answers at once, so the
answer takes the same time whether or not an account uses the address: looking the account up, making the
token and talking to the mail server all happen here, where nobody is timing them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm

SUBJECT_TEMPLATE = "jobs/password_reset_subject.txt"
BODY_TEMPLATE = "jobs/password_reset_email.txt"


def duration(seconds: int) -> str:
    """3600 → "1 hour", 5400 → "90 minutes": how long a reset link works, in words."""
    hours, rest = divmod(seconds, 3600)
    if hours and not rest:
        return f"{hours} hour{'' if hours == 1 else 's'}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def send_reset_link(email: str) -> None:
    """Emails a one-time reset link to each active account using `email` (in any case), none when no
    account does. The link starts with PUBLIC_BASE_URL, never with a Host header someone chose."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return
    base = settings.PUBLIC_BASE_URL
    form.save(
        domain_override=urlsplit(base).netloc,
        use_https=base.startswith("https://"),
        subject_template_name=SUBJECT_TEMPLATE,
        email_template_name=BODY_TEMPLATE,
        extra_email_context={"public_base_url": base, "valid_for": duration(settings.PASSWORD_RESET_TIMEOUT)},
    )


# Acknowledged when received: a worker lost mid-send loses the email (the person can ask again) rather
# than sending a second link.
@shared_task(name="accounts.password_reset", base=DjangoTask, ignore_result=True, acks_late=False)
def password_reset(email: str) -> None:
    """Sends the reset link for `email`, if an account uses it."""
    send_reset_link(email)
