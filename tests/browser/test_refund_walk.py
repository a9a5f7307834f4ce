"""A refund in a real browser, as the two people do it: the funder pays a job and asks for part of it
back, the provider agrees and approves the refund in their own wallet's consent page, and both see the job
partly refunded, without reloading. The provider does their part on a phone. Every state either of them
sees has one primary button at most, fits the screen without a sideways scroll, and has nothing axe-core
rates serious or critical.

The stack is the one `make demo` brings up (local wallet with a real consent page, demo data, web,
worker), on free ports with its own SQLite. Screenshots of every step: artifacts/browser/<test>/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from marketplace.demo import DEMO_PASSWORD
from tests.browser.test_newcomer_walk import FIRST_JOB, demo_stack, walk_or_explain
from tests.browser.walk import (
    DESKTOP,
    LINK_SECONDS,
    PAID_SECONDS,
    PHONE,
    Walk,
    mark_loaded,
    primary_buttons,
    scrolls_sideways,
    still_loaded,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PARTLY = "Partly refunded: $15.00 of $45.00"


def settled(page: Page) -> None:
    """What every state a person sees keeps to: one primary button at most, and no sideways scroll on a
    phone."""
    buttons = primary_buttons(page)
    assert len(buttons) <= 1, f"{len(buttons)} primary buttons on {page.url}: {buttons}"
    viewport = page.viewport_size
    if viewport is not None and viewport["width"] <= PHONE["width"]:
        assert not scrolls_sideways(page), f"{page.url} scrolls sideways on a phone"


@contextmanager
def step(walk: Walk, name: str, page: Page) -> Iterator[None]:
    """`walk.step`, ending on a `settled` page."""
    with walk.step(name, page):
        yield
        settled(page)


def log_in(walk: Walk, page: Page, *, where: str) -> None:
    walk.log_in(page, where=where)
    settled(page)


def to_the_wallet(walk: Walk, page: Page, link_name: str) -> None:
    """Follows `link_name` to the wallet once it appears, unless the browser went there by itself."""
    link = page.get_by_role("link", name=link_name)
    deadline = time.monotonic() + LINK_SECONDS
    while time.monotonic() < deadline:
        if page.url.startswith(walk.wallet):
            walk.notes.append(f"one-click: went to the wallet by itself instead of {link_name!r}")
            return
        if link.count() and link.is_visible():
            link.click()
            page.wait_for_url(f"{walk.wallet}/**")
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"neither {link_name!r} nor the wallet's page appeared")


def accept_in_the_wallet(walk: Walk, page: Page, job_url: str, amount: str) -> None:
    expect(page.get_by_role("heading", name="Approve a payment")).to_be_visible()
    assert page.locator(".client-name").inner_text().strip() == "Open Jobs Marketplace"
    assert page.locator(".amount").first.inner_text().strip().endswith(amount)
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(f"{job_url}*")
    mark_loaded(page)


def refund_walk(walk: Walk) -> dict[str, str]:
    """The funder pays the demo's first job, asks for $15.00 back; the provider agrees and consents."""
    seen: dict[str, str] = {}
    _funder_context, funder = walk.new_page(DESKTOP)
    log_in(walk, funder, where="funder's laptop")
    job_url = walk.open_job_to_pay(funder)
    settled(funder)

    with step(walk, "the funder approves the quote and pays in the wallet", funder):
        funder.get_by_role("button", name="Approve & pay").first.click()
        expect(funder.locator(".message-success")).to_contain_text("Quote approved")
        to_the_wallet(walk, funder, "Complete payment")
        accept_in_the_wallet(walk, funder, job_url, "$45.00")
        status = funder.locator("#payment-panel .panel-status")
        expect(status).to_have_text(re.compile(r"Paid$"), timeout=PAID_SECONDS * 1000)

    with step(walk, "the funder asks for $15.00 back", funder):
        funder.goto(job_url)
        refunds = funder.locator("#refunds")
        expect(refunds.get_by_role("heading", name="Ask for a refund")).to_be_visible()
        refunds.get_by_label("Amount in USD").fill("15.00")
        refunds.get_by_label("Why (the provider reads it)").fill("Only half of the text was translated.")
        refunds.get_by_role("button", name="Ask for a refund").click()
        expect(funder.locator(".message-success")).to_contain_text("Refund requested")
        expect(funder.locator("#refunds-panel .refund-status")).to_have_text(
            "Waiting for the provider to answer"
        )
        mark_loaded(funder)

    provider_walk = Walk(walk.browser, walk.marketplace, walk.wallet, walk.artifacts, username="provider")
    # one numbering for the screenshots of both people, and one list of what axe-core found
    provider_walk.steps, provider_walk.violations = walk.steps, walk.violations
    provider_walk.password = walk.password
    _provider_context, provider = walk.new_page(PHONE, mobile=True)
    log_in(provider_walk, provider, where="provider's phone")

    with step(walk, "the provider finds the request waiting for them", provider):
        provider.get_by_role("link", name=re.compile(r"^Refunds\s+1\s+waiting for you$")).click()
        expect(provider.get_by_role("heading", name="Waiting for you")).to_be_visible()
        expect(provider.locator(".refund-status")).to_have_text("The funder asks for a refund")
        expect(provider.locator(".refund-reason")).to_contain_text("Only half of the text was translated.")
        assert primary_buttons(provider) == ["Agree and refund $15.00"], primary_buttons(provider)

    with step(walk, "the provider opens the job the request is about", provider):
        provider.get_by_role("link", name=FIRST_JOB).click()
        provider.wait_for_url(f"{job_url}*")
        expect(provider.get_by_role("button", name="Agree and refund $15.00")).to_be_visible()
        # (on the job's page the payment panel holds the one primary button)
        assert primary_buttons(provider) == ["View receipt"], primary_buttons(provider)

    with step(walk, "the provider agrees and approves the refund in their wallet", provider):
        provider.get_by_role("button", name="Agree and refund $15.00").click()
        expect(provider.locator(".message-success")).to_contain_text("Refund agreed")
        to_the_wallet(walk, provider, "Complete refund")
        accept_in_the_wallet(walk, provider, job_url, "$15.00")

    with step(walk, "the provider sees the refund paid back, without a reload", provider):
        card = provider.locator("#refunds-panel .refund").first
        expect(card.locator(".refund-status")).to_have_text("Refunded", timeout=PAID_SECONDS * 1000)
        assert still_loaded(provider), "the provider's page was reloaded"
        expect(provider.locator("#job-badge")).to_have_text(PARTLY)
        receipt = card.locator(".refund-receipt")
        seen["sent"] = receipt.locator("div", has_text="Left the provider").locator("dd").inner_text().strip()
        seen["received"] = receipt.locator("div", has_text="Reached the funder").locator("dd").inner_text()
        expect(provider.locator(".attempts .attempt-kind").first).to_have_text("Refund")

    with step(walk, "the funder sees Refunded too, without a reload", funder):
        card = funder.locator("#refunds-panel .refund").first
        expect(card.locator(".refund-status")).to_have_text("Refunded", timeout=PAID_SECONDS * 1000)
        assert still_loaded(funder), "the funder's page was reloaded"
        expect(funder.locator("#job-badge")).to_have_text(PARTLY)
        expect(funder.locator("#refund-announcer")).to_have_text("Refund: Refunded")
        expect(card.locator(".refund-receipt")).to_contain_text("$15.00")
        funder.evaluate("window.scrollTo(0, 0)")
        funder.screenshot(
            path=str(walk.artifacts / "job-refunded.png"), full_page=True, animations="disabled"
        )

    with step(walk, "the job list says partly refunded", funder):
        funder.goto(f"{walk.marketplace}/jobs")
        row = funder.locator(".job-row").filter(has=funder.get_by_role("link", name=FIRST_JOB, exact=True))
        expect(row.locator(".badge")).to_have_text(PARTLY)
    return seen


def test_a_refund_walked_by_both_people_in_a_real_browser(browser, artifacts: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # given the stack of `make demo`: the local wallet asking a person to consent, demo data, web, worker
    with demo_stack(tmp_path) as env:
        walk = Walk(
            browser,
            env["PUBLIC_BASE_URL"],
            env["TESTWALLET_URL"],
            artifacts,
            password=DEMO_PASSWORD,
            job_title=FIRST_JOB,
        )
        # when the funder pays and asks for part back, and the provider agrees and consents
        seen = walk_or_explain(walk, tmp_path, lambda: refund_walk(walk))

    # then exactly $15.00 left the provider's wallet and reached the funder's, and no page either of them
    # saw had anything axe-core rates serious or critical
    assert (seen["sent"], seen["received"].strip()) == ("$15.00", "$15.00")
    assert (artifacts / "job-refunded.png").exists()
    assert not walk.violations, "\n".join(map(str, walk.violations))
