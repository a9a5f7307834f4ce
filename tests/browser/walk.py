"""The newcomer's walk, as a person does it in a real browser: log in as the funder, approve a quote, watch
the link appear, consent in the wallet, come back and watch the job become paid.

Drives Debian's Chromium (never a browser Playwright downloads) with the flags that work on an offline
machine. Every step saves a screenshot under the artifacts folder (`NN-step.png`, or `NN-step-FAILED.png`)
and a failure names its step.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.browser.axe import Violation, blocking_violations
from tests.services import require

CHROMIUM = Path("/usr/bin/chromium")
# The flags Chromium needs on these machines: no sandbox as root, no GPU, and no background connections
# to Google's hosts (the network is closed). Playwright gives each launch a fresh, empty profile.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = ViewportSize(width=1000, height=760)
PHONE = ViewportSize(width=390, height=844)
# Seconds a person would wait for each thing to happen (the link: a few wallet calls by the worker).
LINK_SECONDS = 45
PAID_SECONDS = 60


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with the offline flags."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS, chromium_sandbox=False
    )


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium for the block, for a test that starts it itself: Playwright's event loop runs
    while the browser is up, and Django refuses database calls from a thread running one, so a test
    using the database starts the browser after setting up its data."""
    require(CHROMIUM.exists(), f"Chromium at {CHROMIUM}", "apt-get install chromium (Debian's package)")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def phone_context(browser: Browser) -> BrowserContext:
    """A fresh browser profile on a 390 px touch phone."""
    return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)


class StepFailed(AssertionError):
    """A step of the walk did not happen; the message names the step and its screenshot."""


@dataclass
class Walk:
    """One walk through the product; `steps` lists what was done, in order."""

    browser: Browser
    marketplace: str  # e.g. http://127.0.0.1:8000
    wallet: str  # the local wallet's origin, e.g. http://127.0.0.1:4000
    artifacts: Path
    username: str = "funder"
    password: str = "demo-password-2026"
    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    # The job to pay (its title); the first open job with a quote when None.
    job_title: str | None = None
    # Whether the phone must see "Generating payment link…" before the link (a wallet slow enough to watch).
    live_updates_required: bool = False
    # What axe-core rates serious or critical on the page after each step (tests.browser.axe).
    violations: list[Violation] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.marketplace = self.marketplace.rstrip("/")
        self.wallet = self.wallet.rstrip("/")
        self.artifacts.mkdir(parents=True, exist_ok=True)

    # -- steps and screenshots ---------------------------------------------------------------------------

    @contextmanager
    def step(self, name: str, page: Page) -> Iterator[None]:
        """Runs one step; a screenshot of `page` after it, and a failure that names it."""
        number = len(self.steps) + 1
        label = f"{number:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"
        self.steps.append(name)
        try:
            yield
        except Exception as error:
            shot = self.shoot(page, f"{label}-FAILED")
            raise StepFailed(
                f"step {number} ({name}) failed on {page.url}: {error}\nscreenshot: {shot}"
            ) from error
        self.shoot(page, label)
        self.audit(page)

    def audit(self, page: Page) -> None:
        """Keeps what axe-core finds serious or critical on the page as it is now (each finding once)."""
        for violation in blocking_violations(page):
            if all((v.rule, v.targets) != (violation.rule, violation.targets) for v in self.violations):
                self.violations.append(violation)

    def shoot(self, page: Page, label: str) -> Path:
        """A screenshot of the visible part of `page` (the whole page when it is short)."""
        path = self.artifacts / f"{label}.png"
        try:
            page.screenshot(path=str(path), full_page=True, animations="disabled")
        except Exception as error:  # a screenshot never hides the real failure
            self.notes.append(f"no screenshot {label}: {error}")
        return path

    # -- people ---------------------------------------------------------------------------------------

    def new_page(self, viewport: ViewportSize, *, mobile: bool = False) -> tuple[BrowserContext, Page]:
        """A fresh browser profile (its own cookies) and one tab in it."""
        context = self.browser.new_context(
            viewport=viewport, is_mobile=mobile, has_touch=mobile, device_scale_factor=1, locale="en-GB"
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        self.pages.append(page)
        return context, page

    def log_in(self, page: Page, *, where: str) -> None:
        with self.step(f"log in as {self.username} ({where})", page):
            page.goto(f"{self.marketplace}/")
            page.get_by_role("link", name="Log in").first.click()
            page.get_by_label("Username").fill(self.username)
            page.get_by_label("Password").fill(self.password)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
            expect(page.locator(".job-row .badge").first).to_be_visible()

    def open_job_to_pay(self, page: Page) -> str:
        """Opens the first open job that has a quote to approve; its URL."""
        with self.step("open a job with a quote", page):
            rows = page.locator(".job-row").filter(has=page.locator(".badge-open"))
            if self.job_title:
                rows = rows.filter(has=page.get_by_role("link", name=self.job_title, exact=True))
            links = [rows.nth(i).locator(".job-row-title").get_attribute("href") for i in range(rows.count())]
            for href in links:
                page.goto(f"{self.marketplace}{href}")
                if page.get_by_role("button", name="Approve & pay").count():
                    break
            else:
                raise AssertionError(
                    f"no open job {self.job_title or ''} with a quote to approve: every demo job is paid; "
                    "stop the demo, remove var/ and run `make demo` again"
                )
            expect(page.locator("#payment-panel")).to_contain_text("No payment yet")
            return page.url

    # -- the walk -------------------------------------------------------------------------------------

    def run(self) -> dict[str, str]:
        """The whole walk; what it saw (amounts, receipt) for the caller to check further."""
        seen: dict[str, str] = {}
        _desktop, page = self.new_page(DESKTOP)
        self.log_in(page, where="laptop")
        job_url = self.open_job_to_pay(page)
        seen["quote"] = page.locator(".quote-amount").first.inner_text().strip()
        seen["payee"] = page.locator(".quote .quote-by").first.inner_text().strip()

        # The same funder follows the payment on a phone too (where the QR code is for).
        _phone_context, phone = self.new_page(PHONE, mobile=True)
        self.log_in(phone, where="phone")

        with self.step("approve the quote", page):
            page.get_by_role("button", name="Approve & pay").first.click()
            expect(page.locator(".message-success")).to_contain_text("Quote approved")
            mark_loaded(page)
            panel = page.locator("#payment-panel")
            status = panel.locator(".panel-status")
            # The page answers at once; the link is made by a worker meanwhile.
            expect(status).to_have_attribute("aria-live", "polite")
            text = status.inner_text()
            if "Generating payment link…" not in text:
                # Only a very fast worker gets here first; the phone below still sees the link arrive.
                self.notes.append(f"the link was ready before the page: {text!r}")
            else:
                seen["generating"] = text

        with self.step("the phone shows the link being made, then the link, without a reload", phone):
            phone.goto(job_url)
            mark_loaded(phone)
            phone_status = phone.locator("#payment-panel .panel-status").inner_text()
            if "Generating payment link…" in phone_status:
                seen["phone_generating"] = phone_status
            elif self.live_updates_required:
                raise AssertionError(f"the phone did not see the link being made: {phone_status!r}")
            link_on_phone = phone.get_by_role("link", name="Complete payment")
            expect(link_on_phone).to_be_visible(timeout=LINK_SECONDS * 1000)
            assert still_loaded(phone), "the phone's page was reloaded"
            expect(phone.locator(".qr svg")).to_be_visible()
            seen["you_pay"] = phone.locator(".amounts dd").first.inner_text().strip()

        with self.step("the link appears, or the browser goes to the wallet by itself", page):
            link = page.get_by_role("link", name="Complete payment")
            deadline = time.monotonic() + LINK_SECONDS
            while time.monotonic() < deadline:
                if page.url.startswith(self.wallet):
                    self.notes.append("one-click: the approving browser went to the wallet by itself")
                    break
                if link.count() and link.is_visible():
                    assert still_loaded(page), "the job page was reloaded"
                    break
                page.wait_for_timeout(200)
            else:
                raise AssertionError("neither the payment link nor the wallet's page appeared")

        if not page.url.startswith(self.wallet):
            with self.step("click Complete payment", page):
                link.click()
                page.wait_for_url(f"{self.wallet}/**")

        with self.step("the wallet's consent page shows the amount", page):
            expect(page.get_by_role("heading", name="Approve a payment")).to_be_visible()
            seen["client"] = page.locator(".client-name").inner_text().strip()
            seen["consent_amount"] = page.locator(".amount").first.inner_text().strip()
            assert seen["client"] == "Open Jobs Marketplace", seen["client"]
            assert seen["consent_amount"].endswith(seen["you_pay"]), (seen["consent_amount"], seen["you_pay"])

        with self.step("accept in the wallet and come back to the job", page):
            page.get_by_role("button", name="Accept").click()
            page.wait_for_url(f"{job_url}*")
            mark_loaded(page)

        with self.step("Paid appears without a reload", page):
            status = page.locator("#payment-panel .panel-status")
            expect(status).to_have_text(re.compile(r"Paid$"), timeout=PAID_SECONDS * 1000)
            expect(status).to_have_attribute("aria-live", "polite")
            assert still_loaded(page), "the job page was reloaded"
            expect(page.locator(".job-head .badge")).to_have_text("Paid")
            expect(page.locator("#payment-announcer")).to_have_text("Payment: Paid")

        with self.step("the receipt leads with who paid whom how much for what", page):
            receipt = page.locator("#payment-panel .receipt")
            seen["summary"] = receipt.locator(".receipt-summary").inner_text().strip()
            seen["receipt_number"] = receipt.locator(".receipt-number strong").inner_text().strip()
            debited = receipt.locator(".receipt-debited dd").inner_text().strip()
            seen["debited"] = debited.split(" (includes")[0]
            seen["received"] = receipt.locator(".receipt-received dd").inner_text().strip()
            assert seen["debited"] == seen["you_pay"], (seen["debited"], seen["you_pay"])
            assert seen["received"] == seen["quote"], (seen["received"], seen["quote"])
            assert seen["summary"].startswith(f"You paid {seen['payee']} {seen['quote']} for “"), seen[
                "summary"
            ]
            # the wallets' records wait behind "Technical details"; one next step: the receipt
            expect(receipt.locator(".technical-details dl")).not_to_be_visible()
            assert primary_buttons(page) == ["View receipt"], primary_buttons(page)
            expect(page.locator(".attempts .badge").first).to_have_text("Paid")
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(self.artifacts / "job-paid.png"), animations="disabled")

        with self.step("the phone shows Paid without a reload", phone):
            expect(phone.locator("#payment-panel .panel-status")).to_have_text(
                re.compile(r"Paid$"), timeout=PAID_SECONDS * 1000
            )
            assert still_loaded(phone), "the phone's page was reloaded"

        with self.step("the job list shows the paid badge", page):
            page.goto(f"{self.marketplace}/jobs")
            row = page.locator(".job-row").filter(has=page.locator(f"a[href='{job_path(job_url)}']"))
            expect(row.locator(".badge")).to_have_text("Paid")

        with self.step("the receipt page", page):
            page.goto(f"{job_url}/receipt")
            expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
            expect(page.locator(".receipt-summary")).to_have_text(seen["summary"])
            expect(page.locator(".receipt-number strong")).to_have_text(seen["receipt_number"])
            expect(page.get_by_role("button", name="Print or save as PDF")).to_be_visible()
            page.emulate_media(media="print")
            expect(page.locator(".topbar")).not_to_be_visible()
            expect(page.locator(".receipt-summary")).to_be_visible()
            page.emulate_media(media="screen")
        self.job_url = job_url
        return seen


def job_path(url: str) -> str:
    """`/jobs/1` of `http://host/jobs/1`."""
    return "/" + url.split("/", 3)[3].split("?")[0]


def mark_loaded(page: Page) -> None:
    """Marks the document now shown; `still_loaded` is false once the browser loads another one."""
    page.wait_for_load_state("domcontentloaded")
    page.evaluate("window.__walkMark = true")


def still_loaded(page: Page) -> bool:
    """Whether the document marked by `mark_loaded` is still the one shown (htmx swaps, no reload)."""
    return bool(page.evaluate("window.__walkMark === true"))


def primary_buttons(page: Page) -> list[str]:
    """The texts of the primary buttons a person sees on the page (one per state is the rule)."""
    buttons = page.locator(".button-primary:visible")
    return [buttons.nth(i).inner_text().strip() for i in range(buttons.count())]


def scrolls_sideways(page: Page) -> bool:
    """Whether the page is wider than the screen (a phone would scroll it sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))
