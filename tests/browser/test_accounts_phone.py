"""Sign-up, log-in, password reset and the profile in a real browser on a phone: every page fits the
screen, breaks no rule of the Content-Security-Policy, has nothing axe-core rates serious or critical, and
its fields are found by their labels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from unittest.mock import patch

import pytest
from django.contrib.auth.models import User
from django.core import mail
from playwright.sync_api import Page, expect
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from jobs.models import Profile
from tests.browser.axe import Violation, blocking_violations
from tests.browser.walk import chromium, phone_context, scrolls_sideways
from tests.jobs import factories as f
from tests.marketplace.test_csp_in_browser import WATCH, session_cookie
from worker.accounts import send_reset_link

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LONG_WALLET = "https://wallet.example/" + "a-very-long-wallet-name-" * 6 + "fiona"
NEW_PASSWORD = "another-long-password-77"


@dataclass
class Seen:
    """What the pages a phone showed broke: too wide, the policy, or what axe-core blocks on."""

    artifacts: Path
    wide: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    def look(self, page: Page, name: str) -> None:
        """Screenshots the page as it is now (`name`.png) and keeps what it breaks."""
        page.screenshot(path=str(self.artifacts / f"{name}.png"), full_page=True)
        if scrolls_sideways(page):
            self.wide.append(page.url)
        self.violations += blocking_violations(page)

    def leave(self, page: Page) -> None:
        """Keeps what the page's document broke of the policy, before the browser closes it."""
        self.csp += page.evaluate("window.cspViolations")

    def nothing_broken(self) -> None:
        assert self.wide == []
        assert self.csp == []
        assert self.violations == [], "\n".join(map(str, self.violations))


def test_the_account_pages_fit_a_phone_and_sign_up_works_by_labels(
    live_server: LiveServer, artifacts: Path
) -> None:
    # given a funder whose wallet address is longer than a phone is wide
    fiona = f.funder("fiona", wallet_address=LONG_WALLET, wallet_id=LONG_WALLET)
    cookie = session_cookie(fiona)
    base = live_server.url
    seen = Seen(artifacts)

    with chromium() as browser:
        context = phone_context(browser)
        context.add_init_script(WATCH)
        page = context.new_page()

        # when a newcomer opens the home page, the log-in page, its reset link and the reset page
        for path, name in [("/", "home"), ("/login", "login"), ("/password-reset", "reset")]:
            page.goto(f"{base}{path}")
            seen.look(page, name)
            seen.leave(page)
        page.goto(f"{base}/login")
        page.get_by_role("link", name="Forgot your password?").click()
        expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()

        # and sends the sign-up form without a role
        page.goto(f"{base}/signup")
        seen.look(page, "signup")
        page.get_by_label("Email").fill("sam@example.org")
        page.get_by_label("Username").fill("sam")
        page.get_by_label("Password", exact=True).fill(f.PASSWORD)
        page.get_by_label("Password confirmation").fill(f.PASSWORD)
        page.get_by_role("button", name="Sign up").click()

        # then the roles group says what is missing, in itself, and what was typed is kept
        roles = page.get_by_role("group", name="I want to")
        expect(roles).to_have_accessible_description("Choose at least one role: funder, provider, or both.")
        expect(page.get_by_label("Email")).to_have_value("sam@example.org")
        expect(page.get_by_label("Fund jobs (funder)")).to_have_accessible_description(
            "Post jobs and pay providers from your wallet."
        )
        seen.look(page, "signup-no-role")
        seen.leave(page)

        # when they tick a role and type the passwords again
        page.get_by_label("Do jobs and get paid (provider)").check()
        page.get_by_label("Password", exact=True).fill(f.PASSWORD)
        page.get_by_label("Password confirmation").fill(f.PASSWORD)
        page.get_by_role("button", name="Sign up").click()

        # then they land on their profile
        expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
        seen.look(page, "profile-new")
        seen.leave(page)
        context.close()

        # when the funder with the long wallet opens their profile
        context = phone_context(browser)
        context.add_init_script(WATCH)
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
        page = context.new_page()
        page.goto(f"{base}/profile")

        # then the address wraps inside the screen
        expect(page.locator(".wallet-summary")).to_contain_text("you are paid and pay in US Dollar (USD)")
        seen.look(page, "profile")
        seen.leave(page)
        context.close()

    # and no page was wider than the phone, broke the policy or had anything axe-core rates serious or
    # critical; sam's account is a provider's
    seen.nothing_broken()
    sam = User.objects.get(username="sam")
    assert (sam.email, Profile.objects.get(user=sam).is_provider) == ("sam@example.org", True)


def test_a_password_reset_on_a_phone_from_the_request_to_the_used_link(
    live_server: LiveServer, settings: Settings, artifacts: Path
) -> None:
    # given a provider with an email address, on a site whose public origin is this server
    settings.PUBLIC_BASE_URL = live_server.url
    alice = User.objects.create_user("alice", "alice@example.org", f.PASSWORD)
    Profile.objects.create(user=alice, is_provider=True)
    seen = Seen(artifacts)

    # (the worker's part, emailing the link, done as the page hands it over)
    with (
        chromium() as browser,
        patch("worker.tasks.password_reset.delay_on_commit", side_effect=send_reset_link),
    ):
        context = phone_context(browser)
        context.add_init_script(WATCH)
        page = context.new_page()

        # when she asks for a link on her phone
        page.goto(f"{live_server.url}/password-reset")
        page.get_by_label("Email").fill("alice@example.org")
        page.get_by_role("button", name="Send me the link").click()

        # then she is told to look at her email
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        seen.look(page, "sent")
        seen.leave(page)

        # when she opens the emailed link and chooses a new password
        [message] = mail.outbox
        found = re.search(rf"^{re.escape(live_server.url)}/password-reset/\S+$", str(message.body), re.M)
        assert found is not None, message.body
        link = found.group(0)
        page.goto(link)
        expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
        seen.look(page, "choose")
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Set my password").click()

        # then she is told it changed
        expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
        seen.look(page, "changed")
        seen.leave(page)

        # when she opens the used link again, then it says it expired
        page.goto(link)
        expect(page.get_by_role("heading", name="Link expired")).to_be_visible()
        seen.look(page, "expired")
        seen.leave(page)
        context.close()

    # and no page was wider than the phone, broke the policy or had anything axe-core rates serious or
    # critical; the new password is hers
    seen.nothing_broken()
    alice.refresh_from_db()
    assert (alice.check_password(f.PASSWORD), alice.check_password(NEW_PASSWORD)) == (False, True)
