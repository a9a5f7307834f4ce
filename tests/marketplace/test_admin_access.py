"""The Django admin: no page of it without a staff log-in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver

from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

# What stands in for each kind of URL parameter of the admin's routes.
SAMPLES = {"int": "1", "path": "1", "str": "1", "slug": "x"}
# Open to anyone by design: the log-in page itself, and the catch-all that sends strangers to it.
PUBLIC = {"/admin/login/"}


def admin_urls(patterns: list[URLPattern | URLResolver], prefix: str = "/admin/") -> Iterator[str]:
    """Every route of the admin site, parameters filled with samples."""
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from admin_urls(entry.url_patterns, prefix + route)
            continue
        route = re.sub(r"\(\?P<app_label>[^)]*\)", "jobs", route)
        route = re.sub(r"\(\?P<url>[^)]*\)", "anything", route)
        route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES.get(m.group(1) or "str", "1"), route)
        route = re.sub(r"^\^|\$$", "", route)
        yield prefix + route


URLS = sorted(set(admin_urls(admin.site.get_urls())) - PUBLIC)


def test_the_sweep_covers_the_admins_pages() -> None:
    assert "/admin/" in URLS
    assert "/admin/jobs/paymentattempt/" in URLS
    assert "/admin/jobs/apitoken/1/change/" in URLS
    assert "/admin/logout/" in URLS
    assert "/admin/jobs/" in URLS  # an app's index
    assert "/admin/anything" in URLS  # the catch-all
    assert all("<" not in url and "(" not in url for url in URLS)


@pytest.mark.parametrize("who", ["anonymous", "a person who is not staff"])
def test_no_admin_page_answers_without_a_staff_log_in(who: str) -> None:
    # given
    client = Client()
    if who != "anonymous":
        client.force_login(f.funder("fiona"))

    for url in URLS:
        # when
        response = client.get(url)

        # then it sends the caller to the admin's log-in (log-out to the index, which does), or does not
        # exist for them
        if url == "/admin/logout/":
            assert (response.status_code, response["Location"]) == (302, "/admin/")
        elif response.status_code == 302:
            assert response["Location"].startswith("/admin/login/?next="), url
        else:
            assert response.status_code == 404, (url, response.status_code)


def test_staff_reach_the_admin() -> None:
    # given
    client = Client()
    client.force_login(User.objects.create_user("sam", password=f.PASSWORD, is_staff=True, is_superuser=True))

    # when
    response = client.get("/admin/")

    # then
    assert response.status_code == 200
