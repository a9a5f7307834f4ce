"""Sealed values (`jobs.sealed`): Fernet under the first of SEALING_KEYS, opened by any of them, so the
key can be rotated; `manage.py reseal` moves every stored value to the first key."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from jobs.models import Budget
from jobs.sealed import Unsealable, derived_key, reseal, seal, unseal
from tests.jobs import factories as f

TOKEN = "SECRET-budget-access-token-1234"


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def old(settings):
    settings.SEALING_KEYS = [new_key()]
    return settings.SEALING_KEYS[0]


def test_a_sealed_value_opens_to_what_was_sealed_and_hides_it(old):
    # when
    sealed = seal(TOKEN)
    # then
    assert TOKEN not in sealed
    assert sealed != seal(TOKEN)  # a fresh IV every time: equal secrets are not recognisable
    assert unseal(sealed) == TOKEN
    assert Fernet(old).decrypt(sealed.encode()).decode() == TOKEN


def test_the_empty_string_stays_empty(old):
    # then
    assert (seal(""), unseal(""), reseal("")) == ("", "", "")


def test_without_sealing_keys_the_key_is_derived_from_the_secret_key(settings):
    # given
    settings.SEALING_KEYS = []
    # when
    sealed = seal(TOKEN)
    # then
    assert Fernet(derived_key(settings.SECRET_KEY)).decrypt(sealed.encode()).decode() == TOKEN


def test_a_value_sealed_under_the_old_key_opens_while_that_key_is_listed_second(settings, old):
    # given a value sealed under the old key
    sealed = seal(TOKEN)
    # when a new key is put first
    new = new_key()
    settings.SEALING_KEYS = [new, old]
    # then the value still opens, and what is sealed now is sealed under the new key
    assert unseal(sealed) == TOKEN
    assert Fernet(new).decrypt(seal("fresh").encode()) == b"fresh"


def test_reseal_moves_a_value_to_the_new_key(settings, old):
    # given a value sealed under the old key, and a new key put first
    sealed = seal(TOKEN)
    new = new_key()
    settings.SEALING_KEYS = [new, old]
    # when
    moved = reseal(sealed)
    # then it opens with the new key alone
    settings.SEALING_KEYS = [new]
    assert unseal(moved) == TOKEN
    with pytest.raises(Unsealable):
        unseal(sealed)


def test_a_value_no_key_opens_is_unsealable_and_the_error_does_not_show_it(settings, old):
    # given a value sealed under a key that is gone
    sealed = seal(TOKEN)
    settings.SEALING_KEYS = [new_key()]
    # when
    with pytest.raises(Unsealable) as refused:
        unseal(sealed)
    # then
    assert sealed not in str(refused.value)
    assert TOKEN not in str(refused.value)


def test_an_altered_value_is_unsealable(old):
    # given
    sealed = seal(TOKEN)
    altered = sealed[:-6] + ("AAAAAA" if not sealed.endswith("AAAAAA") else "BBBBBB")
    # then
    with pytest.raises(Unsealable):
        unseal(altered)


@pytest.mark.parametrize(
    "keys",
    [["not-a-key"], [Fernet.generate_key().decode()[:-4]], [Fernet.generate_key().decode(), "short"]],
    ids=["not base64", "too short", "second key malformed"],
)
def test_malformed_sealing_keys_are_refused_with_a_clear_message(settings, keys):
    # given
    settings.SEALING_KEYS = keys
    # when
    with pytest.raises(ImproperlyConfigured) as refused:
        seal(TOKEN)
    # then
    assert str(refused.value) == (
        "SEALING_KEYS must be Fernet keys (32 bytes, url-safe base64), comma-separated."
    )
    for key in keys:
        assert key not in str(refused.value)


# The sealed columns as the database holds them.
def raw_row(budget: Budget) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT continue_token, access_token, access_token_manage FROM jobs_budget WHERE id = %s",
            [Budget._meta.pk.get_db_prep_value(budget.pk, connection)],
        )
        return cursor.fetchone()


def active_budget(funder_name: str = "fiona") -> Budget:
    return Budget.objects.create(
        funder=f.funder(funder_name),
        status=Budget.Status.ACTIVE,
        sender_wallet="https://wallet.example/fiona",
        amount_value=10000,
        asset_code="USD",
        asset_scale=2,
        per_job_limit=5000,
        continue_token="SECRET-continue-token-1",
        access_token=TOKEN,
        access_token_manage="https://auth.wallet.example/token/SECRET-manage-1",
    )


@pytest.mark.django_db
def test_a_budget_holds_its_tokens_in_the_clear_and_the_database_holds_them_sealed(old):
    # when
    budget = active_budget()
    # then
    stored = raw_row(budget)
    assert all(value and "SECRET-" not in value for value in stored)
    assert [Fernet(old).decrypt(value.encode()).decode() for value in stored] == [
        "SECRET-continue-token-1",
        TOKEN,
        "https://auth.wallet.example/token/SECRET-manage-1",
    ]
    assert Budget.objects.get().access_token == TOKEN


@pytest.mark.django_db
def test_the_reseal_command_moves_every_value_to_the_new_key_and_can_run_twice(settings, old):
    # given three budgets sealed under the old key (one with no tokens yet), and a new key put first
    budgets = [active_budget(f"funder{n}") for n in range(3)]
    Budget.objects.filter(pk=budgets[2].pk).update(
        status=Budget.Status.PREPARING, continue_token="", access_token="", access_token_manage=""
    )
    new = new_key()
    settings.SEALING_KEYS = [new, old]
    out = StringIO()
    # when
    call_command("reseal", "--batch-size", "2", stdout=out)
    # then every value opens with the new key alone, and says so
    settings.SEALING_KEYS = [new]
    for budget in budgets[:2]:
        stored = raw_row(budget)
        assert Fernet(new).decrypt(stored[1].encode()).decode() == TOKEN
        reread = Budget.objects.get(pk=budget.pk)
        assert (reread.continue_token, reread.access_token, reread.access_token_manage) == (
            "SECRET-continue-token-1",
            TOKEN,
            "https://auth.wallet.example/token/SECRET-manage-1",
        )
    assert raw_row(budgets[2]) == ("", "", "")
    first, *rest = out.getvalue().splitlines()  # (the budget with no tokens may be in either batch)
    assert first in ("jobs.Budget: 2 rows, 3 values re-sealed", "jobs.Budget: 2 rows, 6 values re-sealed")
    assert rest == [
        "jobs.Budget: 3 rows, 6 values re-sealed",
        "Re-sealed 6 values under the first key of SEALING_KEYS.",
    ]
    assert TOKEN not in out.getvalue()

    # when it runs again, with the new key alone, then the values still open
    again = StringIO()
    call_command("reseal", stdout=again)
    assert again.getvalue().splitlines()[-1] == "Re-sealed 6 values under the first key of SEALING_KEYS."
    assert Budget.objects.get(pk=budgets[0].pk).access_token == TOKEN


@pytest.mark.django_db
def test_the_reseal_command_leaves_values_no_key_opens_and_says_what_to_do(settings, old):
    # given a budget sealed under a key that was dropped too early, and one sealed under the current key
    lost = active_budget("lost")
    before = raw_row(lost)
    settings.SEALING_KEYS = [new_key()]
    kept = active_budget("kept")
    out, err = StringIO(), StringIO()
    # when
    with pytest.raises(CommandError) as refused:
        call_command("reseal", stdout=out, stderr=err)
    # then the one that opens is re-sealed, the other left as it was, for its key to be put back
    assert "3 values open with none of SEALING_KEYS" in str(refused.value)
    assert "Re-sealed 3 values" in out.getvalue()
    assert raw_row(lost) == before
    assert Budget.objects.get(pk=kept.pk).access_token == TOKEN
    settings.SEALING_KEYS = [new_key(), *settings.SEALING_KEYS]
    with pytest.raises(Unsealable):
        Budget.objects.get(pk=lost.pk)


@pytest.mark.django_db
def test_the_reseal_command_refuses_an_empty_batch():
    # then
    with pytest.raises(CommandError, match=r"--batch-size must be at least 1\."):
        call_command("reseal", "--batch-size", "0")
