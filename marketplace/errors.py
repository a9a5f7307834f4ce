"""The answer to a request that failed on an error of our own: 503 with a retry hint while the database
cannot be reached (a restart, a failover), so clients and proxies try again; 500 for anything else."""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

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
        page = f"<!doctype html><title>{status}</title><main><h1>{message}</h1></main>"
        response = HttpResponse(page, status=status, content_type="text/html; charset=utf-8")
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
