"""A budget in a real browser: the funder sets a monthly budget on their profile, approves it once on the
local wallet's consent page, comes back to "Active", then approves a quote and sees the job paid without
going to the wallet again (issue: "a funder authorizes a spending limit once"); on their phone, the
profile and the job say the same. Every state the funder sees has one primary button at most, fits the
screen without a sideways scroll, and has nothing axe-core rates serious or critical.

The stack is the one `make demo` brings up (local wallet with a real consent page, demo data, web,
worker), on free ports with its own SQLite. Screenshots of every step: artifacts/browser/<test>/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Frame, expect

from marketplace.demo import DEMO_PASSWORD
from tests.browser.test_newcomer_walk import FIRST_JOB, demo_stack, walk_or_explain
from tests.browser.test_refund_walk import log_in, settled, step, to_the_wallet
from tests.browser.walk import DESKTOP, PAID_SECONDS, PHONE, Walk, mark_loaded, primary_buttons, still_loaded

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def budget_walk(walk: Walk) -> dict[str, str]:
    """The funder sets $100.00 per month, consents once, and pays the demo's first job from it."""
    seen: dict[str, str] = {}
    _context, page = walk.new_page(DESKTOP)
    log_in(walk, page, where="laptop")

    with step(walk, "the funder opens their profile to set a budget", page):
        page.goto(f"{walk.marketplace}/profile")
        expect(page.get_by_role("heading", name="Budget")).to_be_visible()
        assert primary_buttons(page) == ["Set budget"], primary_buttons(page)

    with step(walk, "the funder sets a budget of $100.00 per month", page):
        form = page.get_by_role("form", name="Set a budget")
        form.get_by_label("Budget in USD").fill("100")
        form.get_by_label("How often").select_option(label="per month")
        form.get_by_role("button", name="Set budget").click()
        expect(page.locator(".message-success")).to_contain_text("Budget set")
        to_the_wallet(walk, page, "Approve in your wallet")

    with step(walk, "the funder approves the budget once in the wallet", page):
        expect(page.get_by_role("heading", name="Approve a payment")).to_be_visible()
        assert page.locator(".client-name").inner_text().strip() == "Open Jobs Marketplace"
        seen["consent"] = page.locator(".access").first.inner_text().strip()
        page.get_by_role("button", name="Accept").click()
        page.wait_for_url(f"{walk.marketplace}/profile*")
        mark_loaded(page)

    with step(walk, "back on the profile, the budget becomes active without a reload", page):
        status = page.locator("#budget-panel .panel-status")
        expect(status).to_have_text(re.compile(r"Active$"), timeout=PAID_SECONDS * 1000)
        assert still_loaded(page), "the profile was reloaded"
        expect(page.locator("#budget-panel")).to_contain_text("$100.00 per month")

    page.goto(f"{walk.marketplace}/jobs")
    job_url = walk.open_job_to_pay(page)
    settled(page)
    wallet_visits: list[str] = []

    def note_wallet_visit(frame: Frame) -> None:
        if frame == page.main_frame and frame.url.startswith(walk.wallet):
            wallet_visits.append(frame.url)

    page.on("framenavigated", note_wallet_visit)
    with step(walk, "the funder approves a quote and sees it paid, without the wallet", page):
        page.get_by_role("button", name="Approve & pay").first.click()
        mark_loaded(page)
        status = page.locator("#payment-panel .panel-status")
        expect(status).to_have_text(re.compile(r"Paid$"), timeout=PAID_SECONDS * 1000)
        assert still_loaded(page), "the job page was reloaded"
        assert page.url.startswith(job_url), page.url
        expect(page.locator("#payment-panel")).to_contain_text(
            "Paid from your budget — no wallet step needed"
        )
        receipt = page.locator("#payment-panel .receipt")
        seen["debited"] = receipt.locator(".receipt-debited dd").inner_text().strip()
    seen["wallet_visits"] = ", ".join(wallet_visits)

    _phone_context, phone = walk.new_page(PHONE, mobile=True)
    log_in(walk, phone, where="phone")
    with step(walk, "on the phone, the profile shows the budget active", phone):
        phone.goto(f"{walk.marketplace}/profile")
        expect(phone.locator("#budget-panel .panel-status")).to_have_text(re.compile(r"Active$"))
        expect(phone.locator("#budget-panel")).to_contain_text("$100.00 per month")
        assert primary_buttons(phone) == [], primary_buttons(phone)

    with step(walk, "on the phone, the job shows it paid from the budget", phone):
        phone.goto(job_url)
        expect(phone.locator("#payment-panel")).to_contain_text(
            "Paid from your budget — no wallet step needed"
        )
        assert primary_buttons(phone) == ["View receipt"], primary_buttons(phone)
    return seen


def test_a_budget_set_once_pays_a_job_without_leaving_the_marketplace(  # type: ignore[no-untyped-def]
    browser, artifacts: Path, tmp_path: Path
) -> None:
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
        # when the funder sets a budget, consents once, and approves a quote
        seen = walk_or_explain(walk, tmp_path, lambda: budget_walk(walk))

    # then the wallet was asked once, for the budget, and the job was paid from it with no second visit,
    # on pages with nothing axe-core rates serious or critical
    assert "asks to pay up to $100.00 every month" in seen["consent"], seen["consent"]
    assert seen["wallet_visits"] == ""
    assert seen["debited"] == "$45.00", seen
    assert not walk.violations, "\n".join(map(str, walk.violations))
