"""A funder's budget on the profile page: setting it, its panel in every status (and the one-click trip to
the wallet), revoking it, who may see it, and the payment panel's budget lines; no page shows a secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobs import services
from jobs.models import AttemptStatus, Budget
from jobs.views import budgets
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

BUDGET_TASKS = ("request_budget_grant", "continue_budget_grant", "revoke_budget", "refresh_budget_spent")
CONSENT_URL = "https://auth.wallet.example/interact/b-1/FEDCBA9876543210"
HTMX = {"HX-Request": "true"}
BUDGET_SECRETS = {
    "continue_token": "SECRET-budget-continue-token-7777",
    "access_token": "SECRET-budget-access-token-8888",
    "access_token_manage": "https://auth.wallet.example/token/SECRET-budget-manage-9999",
    "client_nonce": "SECRET-budget-client-nonce-aaaa",
    "interact_nonce": "SECRET-budget-interact-nonce-bbbb",
    "interact_ref": "SECRET-budget-interact-ref-cccc",
    "continue_uri": "https://auth.wallet.example/continue/SECRET-budget-continue-dddd",
}


@pytest.fixture(autouse=True)
def budget_tasks() -> Iterator[SimpleNamespace]:
    """`budget_tasks.<name>` is the mock standing in for `worker.tasks.<name>.delay_on_commit`."""
    patches = {name: patch(f"worker.tasks.{name}.delay_on_commit", create=True) for name in BUDGET_TASKS}
    mocks = {name: p.start() for name, p in patches.items()}
    try:
        yield SimpleNamespace(**mocks)
    finally:
        for p in patches.values():
            p.stop()


def budget(of: User, status: str = Budget.Status.PREPARING, **fields: Any) -> Budget:
    """A $100.00 monthly budget of `of` in `status`, holding what the worker would have stored by then."""
    now = timezone.now()
    values: dict[str, Any] = {
        "sender_wallet": f"https://wallet.example/{of.username}",
        "amount_value": 10000,
        "asset_code": "USD",
        "asset_scale": 2,
        "interval": Budget.Interval.MONTH,
        "interval_start": now,
        "per_job_limit": 10000,
    }
    if status != Budget.Status.PREPARING:
        values.update(
            BUDGET_SECRETS,
            sender_auth_server=f.AUTH_SERVER,
            consent_url=CONSENT_URL,
            consent_expires_at=now + timedelta(minutes=9),
        )
    if status in (Budget.Status.ACTIVE, Budget.Status.ENDED):
        values.update(authorized_at=now, access_token_expires_at=now + timedelta(hours=1))
    if status == Budget.Status.ENDED:
        values.update(ended_at=now, end_reason=services.BUDGET_REVOKED)
    values.update(fields)
    return Budget.objects.create(funder=of, status=status, **values)


def panel_url(of: Budget) -> str:
    return reverse("budget-panel", kwargs={"budget_id": of.pk})


def revoke_url(of: Budget) -> str:
    return reverse("budget-revoke", kwargs={"budget_id": of.pk})


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.wsgi_request._messages]


def assert_no_budget_task(budget_tasks: SimpleNamespace) -> None:
    for name in BUDGET_TASKS:
        getattr(budget_tasks, name).assert_not_called()


# Setting a budget


def test_setting_a_budget_creates_it_and_asks_for_its_link_once(budget_tasks):
    # given
    funder = f.funder()
    client = f.logged_in(funder)
    # when
    response = client.post(reverse("budget-create"), {"amount": "100", "interval": "P1M", "per_job": "25.50"})
    # then
    made = Budget.objects.get()
    assert (made.funder, made.status, made.amount_value, made.interval, made.per_job_limit) == (
        funder,
        Budget.Status.PREPARING,
        10000,
        "P1M",
        2550,
    )
    assert (made.asset_code, made.asset_scale, made.sender_wallet) == (
        "USD",
        2,
        "https://wallet.example/fiona",
    )
    assert response.status_code == 302
    assert response["Location"] == "/profile"
    budget_tasks.request_budget_grant.assert_called_once_with(str(made.pk))
    assert client.session[budgets.SESSION_KEY] == str(made.pk)
    assert messages_of(response) == ["Budget set. Preparing the link to your wallet…"]


@pytest.mark.parametrize(
    ("interval", "per_job", "stored"),
    [("P1W", "", ("P1W", 5000)), ("total", "50", ("", 5000))],
)
def test_a_weekly_or_total_budget_without_a_ceiling_pays_up_to_all_of_it(interval, per_job, stored):
    # when
    f.logged_in(f.funder()).post(
        reverse("budget-create"), {"amount": "50.00", "interval": interval, "per_job": per_job}
    )
    # then
    made = Budget.objects.get()
    assert (made.interval, made.per_job_limit) == stored


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "", "interval": "P1M"}, "This field is required."),
        ({"amount": "lots", "interval": "P1M"}, "Enter an amount like 1,250.50."),
        ({"amount": "0", "interval": "P1M"}, "Enter an amount greater than zero."),
        ({"amount": "10.005", "interval": "P1M"}, "Use at most 2 decimal places for USD."),
        ({"amount": "10", "interval": "P1M", "per_job": "10.01"}, services.BUDGET_PER_JOB),
        ({"amount": "10", "interval": "P1M", "per_job": "-1"}, "Enter an amount greater than zero."),
        ({"amount": "10", "interval": "P1Y"}, "Select a valid choice."),
    ],
)
def test_bad_input_is_refused_with_the_reason_and_nothing_is_set(budget_tasks, tasks, data, message):
    # when
    response = f.logged_in(f.funder()).post(reverse("budget-create"), data)
    # then
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Budget.objects.count() == 0
    assert_no_budget_task(budget_tasks)
    f.assert_nothing_enqueued(tasks)


def test_a_second_budget_is_refused_while_one_is_live(budget_tasks):
    # given
    funder = f.funder()
    live = budget(funder, Budget.Status.ACTIVE)
    # when
    response = f.logged_in(funder).post(reverse("budget-create"), {"amount": "20", "interval": "P1M"})
    # then
    assert response.status_code == 302
    assert messages_of(response) == [services.BUDGET_LIVE]
    assert list(Budget.objects.values_list("pk", flat=True)) == [live.pk]
    assert_no_budget_task(budget_tasks)


@pytest.mark.parametrize(
    ("person", "message"),
    [
        (lambda: f.funder(wallet=False), services.BUDGET_NO_WALLET),
        (lambda: f.provider(), services.NOT_A_FUNDER),
    ],
)
def test_a_funder_without_a_wallet_or_a_provider_cannot_set_one(budget_tasks, person, message):
    # when
    response = f.logged_in(person()).post(reverse("budget-create"), {"amount": "20", "interval": "P1M"})
    # then
    assert response.status_code == 302
    assert messages_of(response) == [message]
    assert Budget.objects.count() == 0
    assert_no_budget_task(budget_tasks)


def test_setting_a_budget_requires_log_in_and_the_csrf_token(budget_tasks):
    # given
    funder = f.funder()
    # when
    anonymous = Client().post(reverse("budget-create"), {"amount": "20", "interval": "P1M"})
    forged = f.logged_in(funder, csrf=True).post(
        reverse("budget-create"), {"amount": "20", "interval": "P1M"}
    )
    # then
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login")
    assert forged.status_code == 403
    assert Budget.objects.count() == 0
    assert_no_budget_task(budget_tasks)


# The profile page and the panel


def test_a_funder_without_a_budget_sees_the_form():
    # when
    body = f.logged_in(f.funder()).get(reverse("profile")).content.decode()
    # then
    assert 'id="budget-panel"' in body
    assert "Budget in USD" in body
    assert "per month" in body and "per week" in body and "in total" in body
    assert "Pay instantly up to (per job, in USD)" in body
    assert f'action="{reverse("budget-create")}"' in body


def test_a_funder_without_a_wallet_is_told_to_add_one_first():
    # when
    body = f.logged_in(f.funder(wallet=False)).get(reverse("profile")).content.decode()
    # then
    assert "Add your wallet address above before setting a budget." in body
    assert "Budget in" not in body


def test_a_provider_has_no_budget_section():
    # when
    body = f.logged_in(f.provider()).get(reverse("profile")).content.decode()
    # then
    assert 'id="budget-panel"' not in body


PANEL_TEXT = {
    Budget.Status.PREPARING: ["Preparing the link to your wallet…", 'hx-trigger="every 2s"', "Cancel"],
    Budget.Status.AWAITING: [
        "Approve the budget in your wallet",
        f'href="{CONSENT_URL}"',
        ">Approve in your wallet</a>",
        "<strong>auth.wallet.example</strong>",
        'hx-trigger="every 5s"',
        "QR code of the budget link",
    ],
    Budget.Status.AUTHORIZED: ["Confirming with your wallet…", 'hx-trigger="every 2s"'],
    Budget.Status.ACTIVE: [
        "Active",
        "$100.00 per month",
        "Revoke budget",
        "Spent this month</dt><dd>checking…",
        "Left this month</dt><dd>checking…",
    ],
    Budget.Status.ENDED: ["Budget ended", services.BUDGET_REVOKED, "Set a new budget", "Budget in USD"],
}


@pytest.mark.parametrize("status", list(PANEL_TEXT))
def test_the_panel_in_each_status(status):
    # given
    funder = f.funder()
    shown = budget(funder, status)
    client = f.logged_in(funder)
    # when
    page = client.get(reverse("profile")).content.decode()
    panel = client.get(panel_url(shown), headers=HTMX).content.decode()
    # then
    for body in (page, panel):
        for text in PANEL_TEXT[status]:
            assert text in body, (status, text)
    assert ("Set a new budget" in panel) == (status == Budget.Status.ENDED)
    assert (revoke_url(shown) in panel) == (status != Budget.Status.ENDED)


def test_an_active_budget_shows_its_ceiling_what_it_spent_and_what_is_left():
    # given
    funder = f.funder()
    budget(
        funder, Budget.Status.ACTIVE, per_job_limit=2500, spent_value=1234, spent_checked_at=timezone.now()
    )
    # when
    body = f.logged_in(funder).get(reverse("profile")).content.decode()
    # then
    assert "Paid at once per job</dt><dd>up to $25.00" in body
    assert "Spent this month</dt><dd>$12.34" in body
    assert "Left this month</dt><dd>$87.66" in body
    assert "hx-trigger" not in body  # nothing left to wait for


def test_a_budget_in_total_says_so():
    # given
    funder = f.funder()
    budget(funder, Budget.Status.ACTIVE, interval="", interval_start=None, spent_value=0)
    # when
    body = f.logged_in(funder).get(reverse("profile")).content.decode()
    # then
    assert "$100.00 in total" in body
    assert "Spent so far</dt><dd>$0.00" in body


def test_an_expired_link_is_not_offered():
    # given
    funder = f.funder()
    budget(funder, Budget.Status.AWAITING, consent_expires_at=timezone.now() - timedelta(seconds=1))
    # when
    body = f.logged_in(funder).get(reverse("profile")).content.decode()
    # then
    assert "This link has expired." in body
    assert CONSENT_URL not in body


@pytest.mark.parametrize(
    "reason",
    [services.BUDGET_WALLET_CHANGED, services.BUDGET_DECLINED, "The link to your wallet expired before you"],
)
def test_an_ended_budget_says_why(reason):
    # given
    funder = f.funder()
    budget(funder, Budget.Status.ENDED, end_reason=reason)
    # when
    body = f.logged_in(funder).get(reverse("profile")).content.decode()
    # then
    assert reason in body


# Asking the wallet what it spent


def test_opening_the_profile_asks_what_an_active_budget_spent_when_stale(budget_tasks):
    # given
    funder = f.funder()
    stale = budget(
        funder,
        Budget.Status.ACTIVE,
        spent_value=100,
        spent_checked_at=timezone.now() - budgets.SPENT_FRESH - timedelta(seconds=1),
    )
    # when
    f.logged_in(funder).get(reverse("profile"))
    # then
    budget_tasks.refresh_budget_spent.assert_called_once_with(str(stale.pk))


def test_a_fresh_figure_is_not_asked_for_again(budget_tasks):
    # given
    funder = f.funder()
    budget(funder, Budget.Status.ACTIVE, spent_value=100, spent_checked_at=timezone.now())
    # when
    f.logged_in(funder).get(reverse("profile"))
    # then
    budget_tasks.refresh_budget_spent.assert_not_called()


def test_the_first_poll_that_finds_the_budget_active_asks_what_it_spent_once(budget_tasks):
    # given
    funder = f.funder()
    active = budget(funder, Budget.Status.ACTIVE)
    client = f.logged_in(funder)
    # when
    first = client.get(f"{panel_url(active)}?was=authorized", headers=HTMX).content.decode()
    client.get(f"{panel_url(active)}?was=active", headers=HTMX)
    # then
    budget_tasks.refresh_budget_spent.assert_called_once_with(str(active.pk))
    assert 'hx-trigger="every 5s"' in first  # until the figure arrives


# One click: the browser that set the budget goes to the wallet once


def test_the_browser_that_set_the_budget_goes_to_the_wallet_once():
    # given
    funder = f.funder()
    client = f.logged_in(funder)
    client.post(reverse("budget-create"), {"amount": "100", "interval": "P1M"})
    made = Budget.objects.get()
    assert client.get(panel_url(made), headers=HTMX).headers.get("HX-Redirect") is None  # still preparing
    Budget.objects.filter(pk=made.pk).update(
        status=Budget.Status.AWAITING,
        consent_url=CONSENT_URL,
        consent_expires_at=timezone.now() + timedelta(minutes=9),
    )
    # when
    first = client.get(panel_url(made), headers=HTMX)
    second = client.get(panel_url(made), headers=HTMX)
    # then
    assert first.headers["HX-Redirect"] == CONSENT_URL
    assert "HX-Redirect" not in second.headers
    assert CONSENT_URL in second.content.decode()


def test_another_browser_of_the_funder_is_not_sent_to_the_wallet():
    # given
    funder = f.funder()
    shown = budget(funder, Budget.Status.AWAITING)
    # when
    response = f.logged_in(funder).get(panel_url(shown), headers=HTMX)
    # then
    assert "HX-Redirect" not in response.headers


def test_a_link_that_is_not_a_web_link_is_never_offered_nor_followed():
    # given
    funder = f.funder()
    client = f.logged_in(funder)
    shown = budget(funder, Budget.Status.AWAITING, consent_url="javascript:alert(1)")
    session = client.session
    session[budgets.SESSION_KEY] = str(shown.pk)
    session.save()
    # when
    response = client.get(panel_url(shown), headers=HTMX)
    # then
    assert "HX-Redirect" not in response.headers
    assert "javascript:" not in response.content.decode()


# Revoking


def test_revoking_ends_the_budget_and_revokes_its_grant_once(budget_tasks):
    # given
    funder = f.funder()
    live = budget(funder, Budget.Status.ACTIVE)
    client = f.logged_in(funder)
    # when
    first = client.post(revoke_url(live))
    second = client.post(revoke_url(live))
    # then
    live.refresh_from_db()
    assert (live.status, live.end_reason) == (Budget.Status.ENDED, services.BUDGET_REVOKED)
    assert live.ended_at is not None
    budget_tasks.revoke_budget.assert_called_once_with(str(live.pk))
    assert (first.status_code, first["Location"]) == (302, "/profile")
    assert messages_of(first) == ["Budget revoked. Nothing more will be paid from it."]
    assert messages_of(second)[-1] == "This budget had already ended."
    body = client.get(reverse("profile")).content.decode()
    assert services.BUDGET_REVOKED in body and "Set a new budget" in body


def test_cancelling_a_link_not_yet_used_ends_the_budget(budget_tasks):
    # given
    funder = f.funder()
    waiting = budget(funder, Budget.Status.AWAITING)
    client = f.logged_in(funder)
    # when
    client.post(revoke_url(waiting))
    # then
    assert Budget.objects.get().status == Budget.Status.ENDED
    budget_tasks.revoke_budget.assert_called_once_with(str(waiting.pk))


def test_revoking_requires_the_csrf_token(budget_tasks):
    # given
    funder = f.funder()
    live = budget(funder, Budget.Status.ACTIVE)
    # when
    response = f.logged_in(funder, csrf=True).post(revoke_url(live))
    # then
    assert response.status_code == 403
    assert Budget.objects.get().status == Budget.Status.ACTIVE
    assert_no_budget_task(budget_tasks)


def test_a_stranger_gets_404_and_changes_nothing(budget_tasks):
    # given
    live = budget(f.funder(), Budget.Status.AWAITING)
    stranger = f.logged_in(f.funder("sam"))
    # when
    responses = [
        stranger.get(panel_url(live), headers=HTMX),
        stranger.get(panel_url(live)),
        stranger.post(revoke_url(live)),
    ]
    # then
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert Budget.objects.get().status == Budget.Status.AWAITING
    assert_no_budget_task(budget_tasks)
    assert CONSENT_URL not in stranger.get(reverse("profile")).content.decode()


# The payment panel


@pytest.fixture
def deal() -> dict[str, Any]:
    funder, provider = f.funder(), f.provider()
    job = f.job(funder)
    return {"funder": funder, "provider": provider, "job": job, "quote": f.quote(job, provider)}


def payment_panel(deal: dict[str, Any], who: str) -> str:
    url = reverse("payment-panel", kwargs={"job_id": deal["job"].pk})
    return f.logged_in(deal[who]).get(url, headers=HTMX).content.decode()


@pytest.mark.parametrize("status", [AttemptStatus.PROCESSING, AttemptStatus.SUCCEEDED])
def test_a_budget_payment_says_no_wallet_step_was_needed(deal, status):
    # given
    paying = budget(deal["funder"], Budget.Status.ACTIVE)
    f.attempt(deal["quote"], status, budget=paying, payment_url="")
    # then
    assert "Paid from your budget — no wallet step needed" in payment_panel(deal, "funder")
    assert "budget" not in payment_panel(deal, "provider")


def test_a_budget_payment_being_made_says_so(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.GENERATING, budget=budget(deal["funder"], Budget.Status.ACTIVE))
    # then
    assert "Paying from your budget…" in payment_panel(deal, "funder")
    assert "Generating payment link…" in payment_panel(deal, "provider")


def test_why_the_budget_could_not_pay_is_shown_above_the_link(deal):
    # given
    reason = "Your budget has $12.00 left this month."
    paying = budget(deal["funder"], Budget.Status.ACTIVE)
    f.attempt(deal["quote"], AttemptStatus.AWAITING_AUTHORIZATION, budget=paying, budget_fallback=reason)
    # when
    body = payment_panel(deal, "funder")
    # then
    said = body.index(f"Your budget could not pay this: {reason}")
    assert said < body.index(">Complete payment</a>")
    assert "Paid from your budget" not in body
    assert reason not in payment_panel(deal, "provider")


def test_a_payment_without_a_budget_says_nothing_of_budgets(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.SUCCEEDED)
    # then
    assert "budget" not in payment_panel(deal, "funder").lower()


# Secrets


@pytest.mark.parametrize("status", [s for s, _ in Budget.Status.choices])
def test_no_budget_page_shows_a_token_a_nonce_or_the_continue_uri(deal, status):
    # given
    funder = deal["funder"]
    shown = budget(funder, status, **BUDGET_SECRETS)
    f.attempt(deal["quote"], AttemptStatus.SUCCEEDED, budget=shown, payment_url="")
    client = f.logged_in(funder)
    # when
    responses = [
        client.get(reverse("profile")),
        client.get(panel_url(shown)),
        client.get(panel_url(shown), headers=HTMX),
        client.get(reverse("job-detail", kwargs={"job_id": deal["job"].pk})),
        client.get(reverse("payment-panel", kwargs={"job_id": deal["job"].pk}), headers=HTMX),
    ]
    # then
    for response in responses:
        body = response.content.decode() + str(response.headers)
        assert "SECRET-" not in body, (response.wsgi_request.path, status)
