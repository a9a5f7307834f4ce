"""What the views may rely on in a request, for the type checker."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class Request(HttpRequest):
    """Any request: django-htmx's middleware runs on every one."""

    htmx: HtmxDetails


class AuthenticatedRequest(Request):
    """A request behind `login_required` or the API's authentication: its user is logged in."""

    user: User
