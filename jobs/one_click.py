"""One-click "approve & pay": the browser that approved an attempt goes to the wallet once it is ready.

The approve view remembers the attempt in the session; the first panel poll that finds its payment link
ready takes the flag (so it happens once) and answers with an htmx client redirect to the wallet.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase

from jobs.models import AttemptStatus, PaymentAttempt
from jobs.presenters import is_web_link

SESSION_KEY = "jobs.just_approved"


def remember(session: SessionBase, attempt: PaymentAttempt) -> None:
    """Notes that this browser just approved `attempt`."""
    session[SESSION_KEY] = str(attempt.pk)


def take(session: SessionBase, attempt: PaymentAttempt) -> bool:
    """True (once) when this browser approved `attempt` and its payment link is ready."""
    ready = attempt.status == AttemptStatus.AWAITING_AUTHORIZATION and is_web_link(attempt.payment_url)
    if not ready or session.get(SESSION_KEY) != str(attempt.pk):
        return False
    del session[SESSION_KEY]
    return True


def forget(session: SessionBase, attempt: PaymentAttempt) -> None:
    """Drops the flag (the funder cancelled the link instead)."""
    if session.get(SESSION_KEY) == str(attempt.pk):
        del session[SESSION_KEY]
