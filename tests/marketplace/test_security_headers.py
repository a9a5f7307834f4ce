"""Security headers: a Content-Security-Policy with no inline script or style on every page, and HSTS
when the site is served over https (behind a proxy that says so in a configured header)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobs.models import AttemptStatus
from tests.jobs import factories as f
from tests.services import ROOT, run_python

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as directive → sources."""
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


class InlineCode(HTMLParser):
    """What of a page a policy without 'unsafe-inline' would block: inline scripts, <style> elements,
    style attributes and event-handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        if tag == "meta" and names.get("name"):
            self.meta[str(names["name"])] = str(names.get("content"))
        self.found += [f"{tag} {name}=" for name in names if name == "style" or name.startswith("on")]


@pytest.fixture
def pages(db) -> dict[str, tuple[Client, str]]:  # type: ignore[no-untyped-def]
    """Every kind of page, with a client allowed to see it."""
    fiona, pavel = f.funder("fiona"), f.provider("pavel")
    staff = User.objects.create_superuser("root", "root@example.com", f.PASSWORD)
    paying, paid = f.job(fiona, "Paying"), f.job(fiona, "Paid")
    f.attempt(f.quote(paying, pavel), AttemptStatus.AWAITING_AUTHORIZATION)
    f.attempt(f.quote(paid, pavel), AttemptStatus.SUCCEEDED)
    anonymous, funder, admin = Client(), f.logged_in(fiona), f.logged_in(staff)
    return {
        "home": (anonymous, "/"),
        "login": (anonymous, "/login"),
        "signup": (anonymous, "/signup"),
        "password reset": (anonymous, "/password-reset"),
        "password reset sent": (anonymous, "/password-reset/sent"),
        "jobs": (funder, "/jobs"),
        "new job": (funder, "/jobs/new"),
        "job paying": (funder, f"/jobs/{paying.pk}"),
        "payment panel": (funder, f"/jobs/{paying.pk}/payment-panel"),
        "job paid": (funder, f"/jobs/{paid.pk}"),
        "receipt": (funder, f"/jobs/{paid.pk}/receipt"),
        "profile": (funder, "/profile"),
        "admin login": (anonymous, "/admin/login/"),
        "admin": (admin, "/admin/"),
        "admin attempts": (admin, "/admin/jobs/paymentattempt/"),
    }


def test_every_page_carries_the_content_security_policy(pages) -> None:  # type: ignore[no-untyped-def]
    for name, (client, url) in pages.items():
        # when
        response = client.get(url)

        # then
        assert response.status_code == 200, name
        assert policy(response["Content-Security-Policy"]) == POLICY, name


def test_no_page_of_ours_has_inline_script_or_style(pages) -> None:  # type: ignore[no-untyped-def]
    for name, (client, url) in pages.items():
        if url.startswith("/admin/"):
            continue  # Django's own pages
        # when
        parser = InlineCode()
        parser.feed(client.get(url).content.decode())

        # then
        assert parser.found == [], name


def test_no_template_of_ours_has_inline_script_or_style() -> None:
    # given every template, those of pages the test above does not open included
    templates = sorted((ROOT / "jobs" / "templates").rglob("*.html"))

    for template in templates:
        # when
        parser = InlineCode()
        parser.feed(re.sub(r"\{#.*?#\}", "", template.read_text()))  # template comments are never sent

        # then
        assert parser.found == [], template.name


def test_the_pages_turn_off_the_style_element_htmx_would_add(pages) -> None:  # type: ignore[no-untyped-def]
    # when
    client, url = pages["job paying"]
    parser = InlineCode()
    parser.feed(client.get(url).content.decode())

    # then htmx is told not to inject its indicator <style> (the policy would refuse it)
    assert json.loads(parser.meta["htmx-config"]) == {"includeIndicatorStyles": False}


def test_no_script_of_ours_writes_inline_style_or_evaluates_code() -> None:
    # given our scripts
    scripts = sorted((ROOT / "jobs" / "static").rglob("*.js"))

    # then none uses what the policy refuses
    assert scripts
    for script in scripts:
        text = script.read_text()
        assert not re.search(r"\beval\(|new Function\(|\.innerHTML\s*=|<style|\.style\.", text), script.name


# HSTS and the proxy's header


def test_over_https_behind_the_proxy_the_answer_carries_hsts(client: Client, settings, db) -> None:  # type: ignore[no-untyped-def]
    # given a proxy that sets X-Forwarded-Proto, and HSTS on
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31_536_000

    # when a request came to the proxy over https, and another over http
    secure = client.get("/", headers={"X-Forwarded-Proto": "https"})
    plain = client.get("/")

    # then only the first carries HSTS (a browser ignores it over http anyway)
    assert secure["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in plain


SHOW = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
    "settings.SECURE_PROXY_SSL_HEADER)"
)


def security_settings(**env: str) -> str:
    """SECURE_HSTS_SECONDS, SECURE_HSTS_INCLUDE_SUBDOMAINS and SECURE_PROXY_SSL_HEADER as a fresh process
    reads them with `env`."""
    unset = ("SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_INCLUDE_SUBDOMAINS")
    done = run_python(SHOW, {"SECRET_KEY": "x" * 50, **env}, unset=unset)
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        # production on https: a year of HSTS
        ({"DEBUG": "false", "PUBLIC_BASE_URL": "https://jobs.example"}, "31536000 False None"),
        # production on plain http, and development on https: none
        ({"DEBUG": "false", "PUBLIC_BASE_URL": "http://jobs.example"}, "0 False None"),
        ({"DEBUG": "true", "PUBLIC_BASE_URL": "https://jobs.example"}, "0 False None"),
        # set by hand, with the proxy's header named as the proxy sends it
        (
            {
                "DEBUG": "false",
                "PUBLIC_BASE_URL": "https://jobs.example",
                "SECURE_HSTS_SECONDS": "3600",
                "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
                "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
            },
            "3600 True ('HTTP_X_FORWARDED_PROTO', 'https')",
        ),
    ],
)
def test_hsts_is_on_by_default_only_in_production_over_https(env: dict[str, str], expected: str) -> None:
    assert security_settings(**env) == expected
