"""The refund and budget screens in every state, on a phone, from each side: nothing axe-core rates serious
or critical, no sideways scroll, and one primary button at most.

The walks pass through some states too fast to look at (a wallet link the browser follows by itself) and
never reach others (a declined or withdrawn request, a link that expired); here each state is stored as
the pipeline would leave it and the page is opened on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from unittest.mock import patch

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from jobs.models import AttemptStatus, Budget, Job, Refund
from tests.browser.axe import blocking_violations
from tests.browser.walk import PHONE, chromium, phone_context, primary_buttons, scrolls_sideways
from tests.jobs import factories as f
from tests.jobs.test_views_budgets import BUDGET_TASKS, budget
from tests.jobs.test_views_refunds import agreed, ask
from tests.marketplace.test_csp_in_browser import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

S = AttemptStatus
TASKS = ("generate_link", "continue_grant", "poll", "cancel_grant", *BUDGET_TASKS)


class TooManyPrimaryButtons(AssertionError):
    """A state shows more than one primary button."""


@pytest.fixture(autouse=True)
def no_tasks() -> Iterator[None]:
    """Opening a page enqueues nothing a test here waits for: every task enqueue is a mock."""
    patches = [patch(f"worker.tasks.{name}.delay_on_commit", create=True) for name in TASKS]
    for one in patches:
        one.start()
    try:
        yield
    finally:
        for one in patches:
            one.stop()


def paid_job(funder: User, provider: User, title: str = "Translate the README") -> dict[str, Any]:
    """A job `funder` paid $45.00 for to `provider` (what the refund helpers call a deal)."""
    job = f.job(funder, title=title)
    quote = f.quote(job, provider, amount_value=4500)
    f.attempt(quote, S.SUCCEEDED, debit_amount=4500, receive_amount=4500, received_amount=4500)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.PAID, paid_at=timezone.now(), paid_amount=4500)
    job.refresh_from_db()
    return {"funder": funder, "provider": provider, "job": job}


def decided(status: str, **fields: Any) -> Callable[[dict[str, Any]], object]:
    """A request the provider or the funder settled without any money moving."""

    def store(deal: dict[str, Any]) -> None:
        refund = ask(deal)
        Refund.objects.filter(pk=refund.pk).update(status=status, decided_at=timezone.now(), **fields)

    return store


# Each state of a refund: how to store it, and the headline its card shows to (the funder, the provider).
REFUNDS: dict[str, tuple[Callable[[dict[str, Any]], object], tuple[str, str]]] = {
    "requested": (ask, ("Waiting for the provider to answer", "The funder asks for a refund")),
    "declined": (
        decided(Refund.Status.DECLINED, decline_reason="The whole text was translated."),
        ("Refund declined", "Refund declined"),
    ),
    "cancelled": (
        decided(Refund.Status.CANCELLED),
        ("Refund request cancelled", "Refund request cancelled"),
    ),
    "generating": (
        lambda deal: agreed(deal, S.GENERATING),
        ("Preparing the refund link…", "Preparing the refund link…"),
    ),
    "awaiting": (
        lambda deal: agreed(deal, S.AWAITING_AUTHORIZATION),
        ("Waiting for the provider to approve the refund in their wallet", "Your refund link is ready"),
    ),
    "processing": (
        lambda deal: agreed(deal, S.PROCESSING),
        ("Processing refund…", "Processing refund…"),
    ),
    "refunded": (
        lambda deal: agreed(deal, S.SUCCEEDED, received_amount=1500),
        ("Refunded", "Refunded"),
    ),
    "ended": (
        lambda deal: agreed(deal, S.EXPIRED, error="The refund link expired before it was approved."),
        ("Refund link expired", "Refund link expired"),
    ),
}
REFUND_CASES = [
    pytest.param(
        state,
        who,
        id=f"{state}-{who}",
    )
    for state in REFUNDS
    for who in ("funder", "provider")
]


def problems(page: Page) -> list[str]:
    """What the page as it is now breaks: axe-core's serious or critical findings, a sideways scroll."""
    found = [str(violation) for violation in blocking_violations(page)]
    if scrolls_sideways(page):
        found.append(f"{page.url} scrolls sideways on a {PHONE['width']} px phone")
    return found


def one_primary_at_most(page: Page) -> None:
    buttons = primary_buttons(page)
    if len(buttons) > 1:
        raise TooManyPrimaryButtons(f"{len(buttons)} primary buttons on {page.url}: {buttons}")


def on_a_phone(live_server: LiveServer, who: User, path: str, look: Callable[[Page], None]) -> None:
    """Opens `path` as `who` on a phone and runs `look` on it."""
    cookie = session_cookie(who)
    with chromium() as browser:
        context = phone_context(browser)
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        page = context.new_page()
        page.goto(f"{live_server.url}{path}")
        look(page)


@pytest.mark.parametrize(("state", "who"), REFUND_CASES)
def test_a_refund_in_each_state_on_the_job_page(live_server: LiveServer, state: str, who: str) -> None:
    # given a paid job with a refund in `state`
    deal = paid_job(f.funder(), f.provider())
    store, headlines = REFUNDS[state]
    store(deal)
    headline = headlines[0] if who == "funder" else headlines[1]

    # when the funder or the provider opens the job on a phone
    def look(page: Page) -> None:
        expect(page.locator("#refunds-panel .refund-status")).to_have_text(headline)
        found = problems(page)
        assert found == [], "\n".join(found)
        one_primary_at_most(page)

    # then the refund shows in its state, with nothing blocking, inside the screen, one primary button at most
    on_a_phone(live_server, deal[who], f"/jobs/{deal['job'].pk}", look)


@pytest.mark.parametrize(
    "moving",
    [
        pytest.param(S.PROCESSING, id="processing"),
        pytest.param(S.AWAITING_AUTHORIZATION, id="awaiting"),
    ],
)
def test_the_providers_waiting_page_with_several_refunds(live_server: LiveServer, moving: str) -> None:
    # given a provider asked for refunds on two jobs, then agreeing to one in `moving` on a third (the page
    # lists the oldest first)
    funder, provider = f.funder(), f.provider()
    ask(paid_job(funder, provider, "Translate the README"))
    ask(paid_job(funder, provider, "Write the changelog"))
    agreed(paid_job(funder, provider, "Proofread the guide"), moving)

    # when they open the refunds waiting for them on a phone
    def look(page: Page) -> None:
        expect(page.get_by_role("heading", name="Waiting for you")).to_be_visible()
        expect(page.locator(".refund-job a")).to_have_count(3)
        found = problems(page)
        assert found == [], "\n".join(found)
        # then only the first card's action is the page's primary button
        assert primary_buttons(page)[:1] == ["Agree and refund $15.00"], primary_buttons(page)
        one_primary_at_most(page)

    on_a_phone(live_server, provider, "/refunds", look)


# Each state of the profile's budget section: how to store it, and the panel's status line ("" for none).
BUDGETS: dict[str, tuple[Callable[[User], object], str, list[str]]] = {
    "none": (lambda funder: None, "", ["Set budget"]),
    "preparing": (lambda funder: budget(funder), "Preparing the link to your wallet…", []),
    "awaiting": (
        lambda funder: budget(funder, Budget.Status.AWAITING),
        "Approve the budget in your wallet",
        ["Approve in your wallet"],
    ),
    "authorized": (
        lambda funder: budget(funder, Budget.Status.AUTHORIZED),
        "Confirming with your wallet…",
        [],
    ),
    "active": (
        lambda funder: budget(
            funder, Budget.Status.ACTIVE, spent_value=4500, spent_checked_at=timezone.now()
        ),
        "✓Active",
        [],
    ),
    "ended": (lambda funder: budget(funder, Budget.Status.ENDED), "Budget ended", ["Set a new budget"]),
}


@pytest.mark.parametrize("state", list(BUDGETS))
def test_the_budget_in_each_state_on_the_profile(live_server: LiveServer, state: str) -> None:
    # given a funder with a wallet and a budget in `state`
    funder = f.funder()
    store, status, primary = BUDGETS[state]
    store(funder)

    # when they open their profile on a phone
    def look(page: Page) -> None:
        expect(page.get_by_role("heading", name="Budget")).to_be_visible()
        if status:
            expect(page.locator("#budget-panel .panel-status")).to_have_text(status)
        found = problems(page)
        assert found == [], "\n".join(found)
        # then the budget holds the page's one primary button, when it has an action to take
        assert primary_buttons(page) == primary, primary_buttons(page)

    on_a_phone(live_server, funder, "/profile", look)


def test_a_funder_without_a_wallet_saves_the_profile_first(live_server: LiveServer) -> None:
    # given a funder with no wallet address yet
    funder = f.funder(wallet=False)

    # when they open their profile on a phone
    def look(page: Page) -> None:
        expect(page.locator("#budget-panel")).to_have_text(
            "Add your wallet address above before setting a budget."
        )
        found = problems(page)
        assert found == [], "\n".join(found)
        # then saving the profile is the one primary button
        assert primary_buttons(page) == ["Save profile"], primary_buttons(page)

    on_a_phone(live_server, funder, "/profile", look)
