"""Budgets at the service layer: setting one, its consent coming back, ending it (by the funder, or by
a new wallet address), and that an approval while it is active is the budget's to pay."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from jobs import services
from jobs.models import Budget, PaymentAttempt
from payments.interaction import finish_hash
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db


def awaiting(funder) -> Budget:  # type: ignore[no-untyped-def]
    """A $100.00 monthly budget whose consent link is out at the funder's wallet."""
    budget = services.budget_create(funder=funder, amount=10000, interval="P1M", per_job_limit=5000)
    Budget.objects.filter(pk=budget.pk).update(
        status=Budget.Status.AWAITING,
        client_nonce="SECRET-client-nonce",
        interact_nonce="SECRET-interact-nonce",
        sender_auth_server=f.AUTH_SERVER,
        continue_uri="https://auth.wallet.example/continue/b-1",
    )
    budget.refresh_from_db()
    return budget


def test_a_budget_is_set_for_the_funders_wallet_in_its_asset() -> None:
    # given a funder
    funder = f.funder()
    # when they set $100.00 per month, paying up to 50.00 at once
    budget = services.budget_create(funder=funder, amount=10000, interval="P1M", per_job_limit=5000)
    # then it is being prepared for their wallet, repeating monthly from now
    assert (budget.status, budget.sender_wallet, budget.asset_code, budget.asset_scale) == (
        "preparing",
        "https://wallet.example/fiona",
        "USD",
        2,
    )
    assert (budget.amount_value, budget.per_job_limit, budget.interval) == (10000, 5000, "P1M")
    assert budget.repeating_interval == "R/" + budget.interval_start.strftime("%Y-%m-%dT%H:%M:%SZ") + "/P1M"


@pytest.mark.parametrize(
    ("amount", "per_job", "message"),
    [
        (0, None, "Enter an amount greater than zero."),
        (10000, 0, "Enter an amount greater than zero."),
        (10000, 10001, services.BUDGET_PER_JOB),
    ],
)
def test_a_budget_with_amounts_out_of_line_is_refused(amount: int, per_job: int | None, message: str) -> None:
    # given a funder
    funder = f.funder()
    # when they set it, then it is refused and nothing is stored
    with pytest.raises(services.ActionRefused) as refused:
        services.budget_create(funder=funder, amount=amount, interval="", per_job_limit=per_job)
    assert str(refused.value) == message
    assert Budget.objects.count() == 0


def test_a_second_budget_waits_for_the_first_to_end_and_a_provider_has_none() -> None:
    # given a funder with a budget, and a provider
    funder = f.funder()
    first = services.budget_create(funder=funder, amount=10000, interval="", per_job_limit=None)
    # when they set another, and the provider sets one
    with pytest.raises(services.ActionRefused) as second:
        services.budget_create(funder=funder, amount=5000, interval="", per_job_limit=None)
    with pytest.raises(services.ActionRefused) as provider:
        services.budget_create(funder=f.provider(), amount=5000, interval="", per_job_limit=None)
    # then both are refused; once the first ended, a new one can be set
    assert (str(second.value), str(provider.value)) == (services.BUDGET_LIVE, services.NOT_A_FUNDER)
    assert services.budget_revoke(budget_id=first.pk, funder=funder)
    assert (
        services.budget_create(funder=funder, amount=5000, interval="", per_job_limit=None).status
        == "preparing"
    )


def test_a_new_wallet_address_ends_the_budget_the_old_one_granted() -> None:
    # given a funder with a budget
    funder = f.funder()
    budget = services.budget_create(funder=funder, amount=10000, interval="P1W", per_job_limit=None)
    # when they save the same wallet again, then another
    profile = funder.profile
    same = {"user": funder, "is_funder": True, "is_provider": False, "asset_code": "USD", "asset_scale": 2}
    services.profile_update(**same, wallet_address=profile.wallet_address, wallet_id=profile.wallet_id)
    still = Budget.objects.get(pk=budget.pk).status
    url = "https://wallet.example/fiona-2"
    services.profile_update(**same, wallet_address=url, wallet_id=url)
    # then only the new wallet ends it, saying why
    budget.refresh_from_db()
    assert (still, budget.status, budget.end_reason) == ("preparing", "ended", services.BUDGET_WALLET_CHANGED)


def test_an_approval_while_the_budget_is_active_is_the_budgets_to_pay() -> None:
    # given a funder whose budget is active, and a quote
    funder = f.funder()
    budget = services.budget_create(funder=funder, amount=10000, interval="", per_job_limit=None)
    Budget.objects.filter(pk=budget.pk).update(status=Budget.Status.ACTIVE)
    quote = f.quote(f.job(funder), f.provider())
    # when the funder approves it
    attempt = services.job_quote_approve(job_id=quote.job_id, quote_id=quote.pk, funder=funder).attempt
    # then the attempt is the budget's
    assert PaymentAttempt.objects.get(pk=attempt.pk).budget_id == budget.pk


def test_the_wallets_consent_activates_nothing_until_the_grant_is_continued(tasks) -> None:  # type: ignore[no-untyped-def]
    # given a budget waiting for the funder's wallet
    funder = f.funder()
    budget = awaiting(funder)
    ref = "interact-ref-1"
    good = finish_hash(
        client_nonce=budget.client_nonce,
        interact_nonce=budget.interact_nonce,
        interact_ref=ref,
        grant_url=budget.sender_auth_server,
    )
    url = reverse("budget-finish", kwargs={"budget_id": budget.pk})
    client = f.logged_in(funder)
    # when a forged hash comes back, then the real one
    forged = client.get(url + "?" + urlencode({"hash": "Zm9yZ2Vk", "interact_ref": ref}))
    status_after_forged = Budget.objects.get(pk=budget.pk).status
    real = client.get(url + "?" + urlencode({"hash": good, "interact_ref": ref}))
    # then the forged one changed nothing, the real one authorized it
    assert (forged.status_code, status_after_forged) == (400, "awaiting_authorization")
    assert (real.status_code, real["Location"]) == (302, "/profile")
    budget.refresh_from_db()
    assert (budget.status, budget.interact_ref) == ("authorized", ref)


def test_a_stranger_cannot_answer_someone_elses_budget() -> None:
    # given a budget waiting for its funder's wallet, and another user
    budget = awaiting(f.funder())
    stranger = f.logged_in(f.user("sam", funder=True))
    # when the stranger sends a decline for it
    url = reverse("budget-finish", kwargs={"budget_id": budget.pk})
    response = stranger.get(url + "?" + urlencode({"result": "grant_rejected"}))
    # then it does not exist for them, and nothing changed
    assert response.status_code == 404
    assert Budget.objects.get(pk=budget.pk).status == "awaiting_authorization"


def test_approving_within_an_active_budget_says_it_pays_from_it(tasks) -> None:  # type: ignore[no-untyped-def]
    # given a funder whose budget is active, and a quote
    funder = f.funder()
    budget = services.budget_create(funder=funder, amount=10000, interval="", per_job_limit=None)
    Budget.objects.filter(pk=budget.pk).update(status=Budget.Status.ACTIVE)
    quote = f.quote(f.job(funder), f.provider())
    # when they approve it in the browser
    response = f.logged_in(funder).post(
        reverse("quote-approve", kwargs={"job_id": quote.job_id, "quote_id": quote.pk})
    )
    # then they are told it is paying from the budget, and its step is enqueued once
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Quote approved. Paying it from your budget…"
    ]
    tasks.generate_link.assert_called_once_with(str(PaymentAttempt.objects.get().pk))
