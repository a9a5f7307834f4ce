"""Sign-up, log-in, password reset and the profile in a real browser on a phone: every page fits the
screen, breaks no rule of the Content-Security-Policy, and its fields are found by their labels."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from pytest_django.live_server_helper import LiveServer

from jobs.models import Profile
from tests.browser.walk import CHROMIUM, PHONE
from tests.jobs import factories as f
from tests.marketplace.test_csp_in_browser import WATCH, session_cookie
from tests.services import require

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LONG_WALLET = "https://wallet.example/" + "a-very-long-wallet-name-" * 6 + "fiona"


def test_the_account_pages_fit_a_phone_and_sign_up_works_by_labels(
    live_server: LiveServer, artifacts: Path
) -> None:
    require(CHROMIUM.exists(), f"Chromium at {CHROMIUM}", "apt-get install chromium (Debian's package)")
    from playwright.sync_api import ViewportSize, expect, sync_playwright

    from tests.browser.walk import launch

    # given a funder whose wallet address is longer than a phone is wide
    fiona = f.funder("fiona", wallet_address=LONG_WALLET, wallet_id=LONG_WALLET)
    cookie = session_cookie(fiona)
    base = live_server.url
    phone = ViewportSize(width=PHONE["width"], height=PHONE["height"])
    wide: list[str] = []
    violations: list[str] = []

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context(viewport=phone, is_mobile=True, has_touch=True)
            context.add_init_script(WATCH)
            page = context.new_page()

            # when a newcomer opens the log-in page, its reset link and the reset page
            for path, name in [("/login", "login"), ("/password-reset", "reset")]:
                page.goto(f"{base}{path}")
                page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
                if page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]:
                    wide.append(path)
            page.goto(f"{base}/login")
            page.get_by_role("link", name="Forgot your password?").click()
            expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()

            # and sends the sign-up form without a role
            page.goto(f"{base}/signup")
            page.get_by_label("Email").fill("sam@example.org")
            page.get_by_label("Username").fill("sam")
            page.get_by_label("Password", exact=True).fill(f.PASSWORD)
            page.get_by_label("Password confirmation").fill(f.PASSWORD)
            page.get_by_role("button", name="Sign up").click()

            # then the roles group says what is missing, in itself, and what was typed is kept
            roles = page.get_by_role("group", name="I want to")
            expect(roles).to_have_accessible_description(
                "Choose at least one role: funder, provider, or both."
            )
            expect(page.get_by_label("Email")).to_have_value("sam@example.org")
            expect(page.get_by_label("Fund jobs (funder)")).to_have_accessible_description(
                "Post jobs and pay providers from your wallet."
            )
            page.screenshot(path=str(artifacts / "signup-no-role.png"), full_page=True)
            if page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]:
                wide.append("/signup")

            # when they tick a role and type the passwords again
            page.get_by_label("Do jobs and get paid (provider)").check()
            page.get_by_label("Password", exact=True).fill(f.PASSWORD)
            page.get_by_label("Password confirmation").fill(f.PASSWORD)
            page.get_by_role("button", name="Sign up").click()

            # then they land on their profile
            expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
            violations += page.evaluate("window.cspViolations")
            context.close()

            # when the funder with the long wallet opens their profile
            context = browser.new_context(viewport=phone, is_mobile=True, has_touch=True)
            context.add_init_script(WATCH)
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
            page = context.new_page()
            page.goto(f"{base}/profile")

            # then the address wraps inside the screen
            expect(page.locator(".wallet-summary")).to_contain_text("you are paid and pay in US Dollar (USD)")
            page.screenshot(path=str(artifacts / "profile.png"), full_page=True)
            if page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]:
                wide.append("/profile")
            violations += page.evaluate("window.cspViolations")
            context.close()
        finally:
            browser.close()

    # and no page was wider than the phone nor broke the policy; sam's account is a provider's
    assert wide == []
    assert violations == []
    sam = User.objects.get(username="sam")
    assert (sam.email, Profile.objects.get(user=sam).is_provider) == ("sam@example.org", True)
