"""Template helpers of refunds: how many wait for the provider looking at the page."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

from jobs import selectors
from jobs.models import AttemptStatus, Refund

register = template.Library()

# An agreed refund whose attempt is one of these is with a wallet, not with its provider.
_ON_ITS_WAY = [AttemptStatus.GENERATING, AttemptStatus.AUTHORIZED, AttemptStatus.PROCESSING]


@register.simple_tag
def refunds_waiting_count(user: AbstractBaseUser | AnonymousUser) -> int:
    """Refunds waiting for `user` to answer, consent in their wallet or get a new link."""
    if not isinstance(user, User):
        return 0
    waiting = selectors.refunds_waiting_for(user)
    return waiting.exclude(status=Refund.Status.AGREED, attempts__status__in=_ON_ITS_WAY).count()
