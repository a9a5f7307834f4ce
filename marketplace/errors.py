"""The answer to a request that failed on an error of our own: 503 with a retry hint while the database
cannot be reached (a restart, a failover), so clients and proxies try again; 500 for anything else. With
DEBUG on (the demo), `ErrorPages` keeps the site's own 404 and 500 pages instead of Django's technical
ones, which show settings and every URL pattern."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

log = logging.getLogger("marketplace.errors")

# What the database driver raises while the database cannot be reached (a restart, a failover).
DATABASE_AWAY = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = (
    "The marketplace is briefly unavailable. Nothing you did was lost; please try again in a few seconds."
)
FAILED = "Something went wrong on our side. Please try again; if it keeps happening, contact support."


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: the error as JSON for the API, as a short page otherwise."""
    error = sys.exc_info()[1]
    unavailable = isinstance(error, DATABASE_AWAY)
    status, message = (503, UNAVAILABLE) if unavailable else (500, FAILED)
    if unavailable:
        log.warning("database unavailable: %s", type(error).__name__)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"error": message}, status=status)
    else:
        # A page of its own, with no database behind it (no user, no messages): the database may be why.
        page = render_to_string("500.html", {"status": status, "message": message})
        response = HttpResponse(page, status=status, content_type="text/html; charset=utf-8")
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


NOT_FOUND = "Not found."


def not_found(request: HttpRequest) -> HttpResponse:
    """The site's own 404: JSON for the API, the 404 page otherwise."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": NOT_FOUND}, status=404)
    return defaults.page_not_found(request, Http404())


class ErrorPages:
    """Django's technical 404 and 500 pages, which DEBUG turns on, replaced by the site's own while
    `ERROR_PAGES` is on (the demo runs with DEBUG and must not show its settings and URL patterns)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # An address no route matched never reaches a view, so `process_exception` does not see it.
        unrouted = getattr(request, "resolver_match", None) is None and response.status_code == 404
        if unrouted and settings.DEBUG and settings.ERROR_PAGES:
            return not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not (settings.DEBUG and settings.ERROR_PAGES):
            return None
        if isinstance(exception, Http404):
            return not_found(request)
        log.error("request failed", exc_info=exception)
        return server_error(request)
