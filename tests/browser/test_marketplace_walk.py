"""The marketplace around the payment, as people see it in a real browser, on the stack of `make demo`.

One walk, on a laptop and on a 390 px phone, by keyboard where a person might use no mouse:

- the public pages: the home page's steps side by side, the local wallet's list of demo wallets, the
  site's own 404, sign-up with email and roles first;
- the funder's job list (price, quotes, tabs, search), the job form (budget, deadline, help), and a
  provider who is never shown a form they cannot submit;
- a cancelled link: told calmly, with one way on;
- a 40.00 EUR quote paid from a USD wallet by keyboard only: both currencies and the rate before consent,
  at the wallet and on the receipt; the wallet's page says "already approved" afterwards;
- the receipt page, print-friendly; the paid provider's headline, their quote as "you", and none of the
  funder's attempts.

After every step: a screenshot (artifacts/browser/<test>/), at most one primary button, no sideways
scroll on the phone, and nothing axe-core rates serious or critical. The paid panel's screenshot is the
README's (`docs/job-paid.png`).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import FloatRect, Locator, Page, ViewportSize, expect

from marketplace.demo import DEMO_PASSWORD
from tests.browser.test_newcomer_walk import demo_stack, walk_or_explain
from tests.browser.walk import (
    DESKTOP,
    LINK_SECONDS,
    PAID_SECONDS,
    PHONE,
    Walk,
    mark_loaded,
    primary_buttons,
    scrolls_sideways,
)
from tests.services import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDE = ViewportSize(width=1280, height=800)
EUR_JOB = "Translate the landing page into German"
CANCELLED_JOB = "Fix the flaky CSV export"
README_SCREENSHOT = ROOT / "docs" / "job-paid.png"
# The colour of alarms (site.css --bad): never for an outcome the person chose.
ALARM = "rgb(179, 38, 30)"


class MarketplaceWalk(Walk):
    """The walk's checks after every step: the screenshot and axe (Walk.step), then one primary button at
    most and, on a phone, no sideways scroll."""

    def check(self, page: Page) -> None:
        assert len(primary_buttons(page)) <= 1, f"more than one primary button: {primary_buttons(page)}"
        if page.viewport_size and page.viewport_size["width"] <= PHONE["width"]:
            assert not scrolls_sideways(page), f"{page.url} scrolls sideways at 390 px"

    def log_in_as(self, page: Page, username: str) -> None:
        with self.step(f"log in as {username}", page):
            page.goto(f"{self.marketplace}/login")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(self.password)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
            self.check(page)

    def open_job(self, page: Page, title: str) -> str:
        page.goto(f"{self.marketplace}/jobs")
        page.get_by_role("link", name=title, exact=True).click()
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        return page.url


def link_shown(walk: Walk, page: Page, job_url: str) -> Locator:
    """The job page with its payment link: an approving browser may have been sent on to the wallet by
    itself (one click), and comes back to the job page for this walk's checks."""
    link = page.get_by_role("link", name="Complete payment")
    page.wait_for_function(
        "wallet => location.href.startsWith(wallet)"
        " || !!document.querySelector('#payment-panel a.button-primary')",
        arg=walk.wallet,
        timeout=LINK_SECONDS * 1000,
    )
    if page.url.startswith(walk.wallet):
        page.goto(job_url)
    expect(link).to_be_visible()
    return link


def tab_to(page: Page, target: Locator, presses: int = 80) -> None:
    """Moves the keyboard focus with Tab until `target` has it, as a person without a mouse would."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def overlapping(boxes: list[FloatRect]) -> bool:
    """Whether any two of these boxes overlap."""
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["width"] <= b["x"]
                or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"]
                or b["y"] + b["height"] <= a["y"]
            )
            if not apart:
                return True
    return False


def test_the_marketplace_around_the_payment(browser, artifacts: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # given the stack of `make demo`: its demo people, jobs (one quoted in EUR) and local wallet
    with demo_stack(tmp_path) as env:
        marketplace, wallet = env["PUBLIC_BASE_URL"], env["TESTWALLET_URL"]
        walk = MarketplaceWalk(browser, marketplace, wallet, artifacts, password=DEMO_PASSWORD)

        # when people walk through it
        seen = walk_or_explain(walk, tmp_path, lambda: walk_the_marketplace(walk, tmp_path))

    # then every step showed what it should, and axe found nothing serious on any page
    assert seen["paid_summary"].startswith(f"You paid Paula Provider €40.00 for “{EUR_JOB}”, "), seen
    assert seen["you_pay"] == seen["receipt_debited"], seen
    assert not walk.violations, "\n".join(map(str, walk.violations))


def walk_the_marketplace(walk: MarketplaceWalk, logs: Path) -> dict[str, str]:
    seen: dict[str, str] = {}
    _, wide = walk.new_page(WIDE)
    _, phone = walk.new_page(PHONE, mobile=True)
    public_pages(walk, wide, phone)
    _, laptop = walk.new_page(DESKTOP)
    walk.log_in_as(laptop, "funder")
    funder_lists_and_forms(walk, laptop)
    _, provider_phone = walk.new_page(PHONE, mobile=True)
    walk.log_in_as(provider_phone, "provider")
    a_cancel_is_calm(walk, laptop, provider_phone)
    seen.update(pay_across_currencies_by_keyboard(walk, laptop))
    the_receipt_page(walk, laptop, seen)
    _, funder_phone = walk.new_page(PHONE, mobile=True)
    walk.log_in_as(funder_phone, "funder")
    on_the_funders_phone(walk, funder_phone, seen)
    _, paula = walk.new_page(PHONE, mobile=True)
    walk.log_in_as(paula, "paula")
    the_paid_provider(walk, paula, seen)
    a_forgotten_password(walk, provider_phone, logs / "worker.log")
    return seen


def public_pages(walk: MarketplaceWalk, wide: Page, phone: Page) -> None:
    with walk.step("the home page's four steps sit side by side at 1280 px", wide):
        wide.goto(f"{walk.marketplace}/")
        steps = wide.locator(".steps li")
        expect(steps).to_have_count(4)
        found = [steps.nth(i).bounding_box() for i in range(4)]
        boxes = [box for box in found if box is not None]
        assert len(boxes) == 4 and not overlapping(boxes), found
        walk.check(wide)

    with walk.step("the home page on a phone", phone):
        phone.goto(f"{walk.marketplace}/")
        expect(phone.get_by_role("link", name="Create an account")).to_be_visible()
        walk.check(phone)

    with walk.step("the wallet's own address lists its demo wallets", phone):
        phone.goto(f"{walk.wallet}/")
        for name in ("Fiona Funder", "Pavel Provider", "Paula Provider"):
            expect(phone.get_by_text(name, exact=True)).to_be_visible()
        expect(phone.locator("body")).not_to_contain_text("Not Found")
        walk.check(phone)

    with walk.step("an unknown address is the site's own 404", phone):
        not_found(walk, phone, "/no/such/page")

    with walk.step("sign-up asks email and roles first, and says a missing role beside the roles", phone):
        phone.goto(f"{walk.marketplace}/signup")
        email, roles = phone.get_by_label("Email"), phone.get_by_role("group", name="I want to")
        username = phone.get_by_label("Username")
        places = (email.bounding_box(), roles.bounding_box(), username.bounding_box())
        order = [box["y"] for box in places if box]
        assert order == sorted(order) and len(order) == 3, order
        assert not [text for text in phone.locator("label").all_inner_texts() if text.strip().endswith(":")]
        email.fill("newcomer@example.com")
        username.fill("newcomer")
        phone.get_by_label("Password", exact=True).fill("a-long-test-password-42")
        phone.get_by_label("Password confirmation").fill("a-long-test-password-42")
        phone.get_by_role("button", name="Sign up").click()
        expect(roles).to_contain_text("Choose at least one role: funder, provider, or both.")
        walk.check(phone)


def not_found(walk: MarketplaceWalk, page: Page, path: str) -> None:
    response = page.goto(f"{walk.marketplace}{path}")
    assert response is not None and response.status == 404, path
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("URLconf")
    walk.check(page)


def funder_lists_and_forms(walk: MarketplaceWalk, page: Page) -> None:
    with walk.step("an unknown job is the site's own 404", page):
        not_found(walk, page, "/jobs/999999")
        page.goto(f"{walk.marketplace}/jobs")

    with walk.step("the job list shows price, quotes and state, with tabs and search", page):
        row = page.locator(".job-row").filter(has=page.get_by_role("link", name=EUR_JOB, exact=True))
        expect(row).to_contain_text("€40.00")
        expect(row).to_contain_text("1 quote")
        expect(row.locator(".badge")).to_have_text("Open")
        tabs = page.get_by_role("navigation", name="Which jobs")
        for tab in ("All", "Open", "Awaiting payment", "Paid", "Mine"):
            expect(tabs.get_by_role("link", name=tab, exact=True)).to_be_visible()
        page.get_by_label("Search jobs").fill("German")
        page.get_by_role("button", name="Search").click()
        expect(page.locator(".job-row")).to_have_count(1)
        tabs.get_by_role("link", name="Paid", exact=True).click()
        expect(page.get_by_text("No paid jobs")).to_be_visible()
        walk.check(page)

    with walk.step("posting a job asks a budget and a deadline, with help", page):
        page.goto(f"{walk.marketplace}/jobs/new")
        for label in ("Title", "Description (optional)"):
            expect(page.get_by_label(label, exact=True)).to_be_visible()
        expect(page.get_by_label(re.compile(r"^Budget"))).to_be_visible()
        expect(page.get_by_label(re.compile(r"^Deadline"))).to_be_visible()
        expect(page.locator(".help").first).to_be_visible()
        walk.check(page)


def a_cancel_is_calm(walk: MarketplaceWalk, funder: Page, provider: Page) -> None:
    with walk.step("a provider is never shown a form they cannot submit", provider):
        provider.goto(f"{walk.marketplace}/jobs/new")
        expect(provider.get_by_text("Only funders post jobs")).to_be_visible()
        expect(provider.locator("form[method=post] textarea")).to_have_count(0)
        walk.check(provider)

    with walk.step("the funder approves a quote and cancels the link", funder):
        job_url = walk.open_job(funder, CANCELLED_JOB)
        assert primary_buttons(funder) == ["Approve & pay"], primary_buttons(funder)
        funder.get_by_role("button", name="Approve & pay").click()
        link_shown(walk, funder, job_url)
        assert primary_buttons(funder) == ["Complete payment"], primary_buttons(funder)
        funder.get_by_role("button", name="Cancel").click()
        status = funder.locator("#payment-panel .panel-status")
        expect(status).to_have_text("Payment link cancelled")
        assert status.evaluate("element => getComputedStyle(element).color") != ALARM
        assert primary_buttons(funder) == ["Get a new link"], primary_buttons(funder)
        walk.check(funder)

    with walk.step("the provider hears only that the job is not paid yet", provider):
        provider.goto(job_url)
        expect(provider.locator("#payment-panel .panel-status")).to_have_text("Not paid yet")
        expect(provider.locator("body")).not_to_contain_text("ancelled")
        expect(provider.locator(".quote-by").first).to_have_text("you")
        walk.check(provider)


def pay_across_currencies_by_keyboard(walk: MarketplaceWalk, page: Page) -> dict[str, str]:
    seen: dict[str, str] = {}
    with walk.step("by keyboard: approve the EUR quote from the USD wallet", page):
        job_url = walk.open_job(page, EUR_JOB)
        approve = page.get_by_role("button", name="Approve & pay")
        tab_to(page, approve)
        page.keyboard.press("Enter")
        expect(page.locator(".message-success")).to_contain_text("Quote approved")
        mark_loaded(page)
        seen["job_url"] = job_url

    with walk.step("before consent: what the funder pays, what Paula receives, and the rate", page):
        link = link_shown(walk, page, seen["job_url"])
        mark_loaded(page)
        amounts = page.locator("#payment-panel .amounts")
        seen["you_pay"] = amounts.locator("div", has_text="You pay").locator("dd").inner_text().strip()
        assert re.fullmatch(r"\$\d+\.\d\d", seen["you_pay"]), seen["you_pay"]
        receives = amounts.locator("div", has_text="Paula Provider receives").locator("dd")
        expect(receives).to_have_text("€40.00")
        expect(amounts.locator("div", has_text="Exchange rate").locator("dd")).to_contain_text(
            re.compile(r"^1 USD = 0\.\d{4} EUR")
        )
        expect(page.get_by_role("img", name="QR code of the payment link")).to_be_visible()
        walk.check(page)

    with walk.step("by keyboard: to the wallet", page):
        tab_to(page, link)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{walk.wallet}/**")

    with walk.step("the wallet names the payee, the job, both currencies and the rate", page):
        expect(page.get_by_role("heading", name="Approve a payment")).to_be_visible()
        expect(page.locator(".receiver")).to_have_text("Paula Provider")
        expect(page.locator(".purpose")).to_contain_text(EUR_JOB)
        expect(page.locator(".exchange")).to_contain_text(f"You pay up to {seen['you_pay']}")
        expect(page.locator(".exchange")).to_contain_text("Paula Provider receives €40.00")
        expect(page.locator(".exchange")).to_contain_text("Rate: 1 USD = 0.92 EUR")
        walk.check(page)

    with walk.step("by keyboard: accept, and come back to the job", page):
        tab_to(page, page.get_by_role("button", name="Accept"))
        page.keyboard.press("Enter")
        page.wait_for_url(f"{seen['job_url']}*")
        mark_loaded(page)

    with walk.step("Paid: who paid whom how much for what, and one next step", page):
        status = page.locator("#payment-panel .panel-status")
        expect(status).to_have_text(re.compile(r"Paid$"), timeout=PAID_SECONDS * 1000)
        receipt = page.locator("#payment-panel .receipt")
        seen["paid_summary"] = receipt.locator(".receipt-summary").inner_text().strip()
        seen["receipt_number"] = receipt.locator(".receipt-number strong").inner_text().strip()
        seen["receipt_debited"] = receipt.locator(".receipt-debited dd").inner_text().strip()
        expect(receipt.locator(".receipt-received dd")).to_have_text("€40.00")
        expect(receipt.locator(".receipt-rate dd")).to_contain_text(re.compile(r"^1 USD = 0\.\d{4} EUR"))
        expect(receipt.locator(".technical-details dl")).not_to_be_visible()
        assert primary_buttons(page) == ["View receipt"], primary_buttons(page)
        walk.check(page)
        page.evaluate("window.scrollTo(0, 0)")
        shot = walk.artifacts / "job-paid.png"
        page.screenshot(path=str(shot), animations="disabled")
        shutil.copyfile(shot, README_SCREENSHOT)

    with walk.step("back at the wallet: already approved, nothing to accept", page):
        page.go_back()
        page.wait_for_url(f"{walk.wallet}/**")
        expect(page.get_by_role("heading", name="Already approved")).to_be_visible()
        expect(page.get_by_role("button", name="Accept")).to_have_count(0)
        walk.check(page)
    return seen


def the_receipt_page(walk: MarketplaceWalk, page: Page, seen: dict[str, str]) -> None:
    with walk.step("the receipt page: numbered, both currencies, print-friendly", page):
        page.goto(f"{seen['job_url']}/receipt")
        expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
        expect(page.locator(".receipt-summary")).to_have_text(seen["paid_summary"])
        expect(page.locator(".receipt-number strong")).to_have_text(seen["receipt_number"])
        expect(page.locator(".receipt-debited dd")).to_have_text(seen["receipt_debited"])
        expect(page.locator(".receipt-received dd")).to_have_text("€40.00")
        page.get_by_text("Technical details").click()
        expect(page.locator(".technical-details dl")).to_be_visible()
        assert primary_buttons(page) == ["Print or save as PDF"], primary_buttons(page)
        walk.check(page)
        page.emulate_media(media="print")
        expect(page.locator(".topbar")).not_to_be_visible()
        expect(page.get_by_role("button", name="Print or save as PDF")).not_to_be_visible()
        expect(page.locator(".receipt-summary")).to_be_visible()
        page.emulate_media(media="screen")


def on_the_funders_phone(walk: MarketplaceWalk, page: Page, seen: dict[str, str]) -> None:
    with walk.step("on the funder's phone: the job list, the paid job and its receipt fit", page):
        for path in ("/jobs", seen["job_url"], f"{seen['job_url']}/receipt"):
            page.goto(path if path.startswith("http") else f"{walk.marketplace}{path}")
            if path.endswith("/receipt"):
                # (the wallets' long addresses too, opened)
                page.get_by_text("Technical details").click()
            walk.check(page)
        expect(page.locator(".receipt-summary")).to_have_text(seen["paid_summary"])


def the_paid_provider(walk: MarketplaceWalk, page: Page, seen: dict[str, str]) -> None:
    with walk.step("the paid provider: a paid headline, their quote as 'you'", page):
        page.goto(seen["job_url"])
        summary = page.locator("#payment-panel .receipt-summary")
        expect(summary).to_have_text(re.compile(rf"^You were paid €40\.00 by Fiona Funder for “{EUR_JOB}”, "))
        expect(page.locator(".quote-by")).to_have_text("you")
        expect(page.locator("#payment-panel")).not_to_contain_text(seen["receipt_debited"])
        history = page.locator(".attempts .attempt")
        expect(history).to_have_count(1)
        expect(history.first.locator(".badge")).to_have_text("Paid")
        walk.check(page)


def a_forgotten_password(walk: MarketplaceWalk, page: Page, worker_log: Path) -> None:
    with walk.step("a forgotten password: a link by email (the demo's worker prints emails)", page):
        page.context.clear_cookies()
        page.goto(f"{walk.marketplace}/login")
        page.get_by_role("link", name="Forgot your password?").click()
        page.get_by_label("Email").fill("provider@example.com")
        page.get_by_role("button", name="Send me the link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        walk.check(page)

    with walk.step("the emailed link sets a new password, which logs in", page):
        link = re.compile(re.escape(walk.marketplace) + r"/password-reset/[\w-]+/[\w-]+")
        deadline = time.monotonic() + 10
        while not (found := link.search(worker_log.read_text(errors="replace"))):
            assert time.monotonic() < deadline, "no reset email in the worker's output"
            time.sleep(0.2)
        page.goto(found.group(0))
        page.get_by_label("New password", exact=True).fill("a-new-password-for-pavel-42")
        page.get_by_label("New password confirmation").fill("a-new-password-for-pavel-42")
        page.get_by_role("button", name="Set my password").click()
        walk.password = "a-new-password-for-pavel-42"
        walk.log_in_as(page, "provider")
