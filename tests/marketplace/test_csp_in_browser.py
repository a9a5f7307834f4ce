"""In a real browser, under the Content-Security-Policy: no page breaks a rule of it, and htmx still
updates the payment panel by itself."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from playwright.sync_api import expect

from jobs.models import AttemptStatus, PaymentAttempt
from tests.browser.walk import chromium, mark_loaded, still_loaded
from tests.jobs import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Every violation the page sees, as "<directive> <what was blocked>" (init scripts are not subject to it).
WATCH = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI || "inline"}`);
});
"""


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def in_a_thread(work: Callable[[], object]) -> None:
    """Runs database work outside the browser's event loop (Django refuses it inside)."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)


def test_pages_and_htmx_work_under_the_policy(live_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # given a funder whose job is waiting for its payment link, a paid job, and a staff member
    fiona, pavel = f.funder("fiona"), f.provider("pavel")
    staff = User.objects.create_superuser("root", "root@example.com", f.PASSWORD)
    paying, paid = f.job(fiona, "Paying"), f.job(fiona, "Paid")
    quote = f.quote(paying, pavel)
    generating = f.attempt(quote, AttemptStatus.GENERATING)
    f.attempt(f.quote(paid, pavel), AttemptStatus.SUCCEEDED)
    cookies = {"fiona": session_cookie(fiona), "root": session_cookie(staff)}
    base = live_server.url
    pages = {
        None: ["/", "/login", "/signup", "/admin/login/"],
        "fiona": ["/jobs", "/jobs/new", "/profile", f"/jobs/{paid.pk}", f"/jobs/{paid.pk}/receipt"],
        "root": ["/admin/", "/admin/jobs/paymentattempt/", "/admin/jobs/job/"],
    }

    def link_ready() -> None:
        PaymentAttempt.objects.filter(pk=generating.pk).delete()
        f.attempt(quote, AttemptStatus.AWAITING_AUTHORIZATION)

    with chromium() as browser:
        seen: list[str] = []
        console: list[str] = []
        for who, urls in pages.items():
            context = browser.new_context()
            context.add_init_script(WATCH)
            if who:
                context.add_cookies([{"name": "sessionid", "value": cookies[who], "url": base}])
            page = context.new_page()
            page.on("console", lambda message: console.append(message.text))
            for url in urls:
                # when each page is opened
                page.goto(f"{base}{url}")
                page.wait_for_load_state("load")
                seen += [f"{url}: {v}" for v in page.evaluate("window.cspViolations")]
            context.close()

        # when the funder watches the job while its payment link is made
        context = browser.new_context()
        context.add_init_script(WATCH)
        context.add_cookies([{"name": "sessionid", "value": cookies["fiona"], "url": base}])
        page = context.new_page()
        page.on("console", lambda message: console.append(message.text))
        page.goto(f"{base}/jobs/{paying.pk}")
        expect(page.locator("#payment-panel .panel-status")).to_contain_text("Generating payment link")
        mark_loaded(page)
        in_a_thread(link_ready)

        # then htmx swaps in the link without a reload
        expect(page.get_by_role("link", name="Complete payment")).to_be_visible(timeout=15_000)
        assert still_loaded(page), "the job page was reloaded"
        seen += [f"/jobs/{paying.pk}: {v}" for v in page.evaluate("window.cspViolations")]
        context.close()

    # and no page broke a rule of the policy
    assert seen == []
    assert [text for text in console if "Content Security Policy" in text] == []
