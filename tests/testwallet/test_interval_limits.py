"""Grant limits per interval, as Rafiki applies them (docs/protocol-notes.md §10): the amounts are maxima per
window of `R[n]/<start>/<duration>`; within a window a payment taking the total over the limit is 403 and
one reaching it exactly is accepted; the spent figures cover the current window only; before the start,
and once the repetitions are used up, every payment is 403. The wallet's clock is moved with the admin
API (`advance_clock`), never slept on. (`test_outgoing_payments.py` covers the basic reset and a start in
2030; these cover the rest.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from testwallet.formats import iso

from .conftest import Parties
from .opclient import amount
from .test_outgoing_payments import quote_for, rs


def wallet_time(parties: Parties, seconds_from_now: float) -> str:
    """An ISO 8601 moment `seconds_from_now` on the wallet's clock (which admin moves may have shifted)."""
    offset_ms = int(parties.server.advance_clock(0) * 1000)
    moment = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return iso(int(moment.timestamp() * 1000) + offset_ms)


def spent(parties: Parties, token: str) -> dict[str, Any]:
    """`GET /outgoing-payment-grant` with the grant's token."""
    answer = parties.op.get(f"{parties.alice['resourceServer']}/outgoing-payment-grant", token=token)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def paid_count(parties: Parties) -> int:
    return len(parties.server.payments(parties.alice_name)["outgoingPayments"])


def statuses(*answers: httpx.Response) -> list[int]:
    return [answer.status_code for answer in answers]


NOTHING = {"spentDebitAmount": None, "spentReceiveAmount": None}


def test_a_payment_reaching_the_limit_exactly_is_accepted_and_one_cent_more_is_refused(
    parties: Parties,
) -> None:
    # given a limit of 1000 a month, in a month that started 10 s ago
    token = parties.outgoing_token(
        {"debitAmount": amount(1000), "interval": f"R/{wallet_time(parties, -10)}/P1M"}
    )

    # when 400, then 600 (the limit exactly), then 1 more are paid in that month
    first = parties.pay(quote_for(parties, 400), token)
    second = parties.pay(quote_for(parties, 600), token)
    third = parties.pay(quote_for(parties, 1), token)

    # then 201, 201 and 403; the wallet spent the whole limit and made no third payment
    assert statuses(first, second) == [201, 201]
    assert second.json()["grantSpentDebitAmount"] == amount(400)
    assert rs(third) == (403, "unauthorized")
    assert spent(parties, token) == {"spentDebitAmount": amount(1000), "spentReceiveAmount": amount(1000)}
    assert paid_count(parties) == 2


def test_the_spent_figures_start_from_nothing_in_each_new_window(parties: Parties) -> None:
    # given a limit of 1000 a minute, 700 spent in the current minute
    token = parties.outgoing_token(
        {"debitAmount": amount(1000), "interval": f"R/{wallet_time(parties, -10)}/PT1M"}
    )
    assert parties.pay(quote_for(parties, 700), token).status_code == 201
    assert spent(parties, token)["spentDebitAmount"] == amount(700)

    # when the wallet's clock reaches the next minute
    parties.server.advance_clock(60)

    # then nothing is spent in it (as before any payment: nulls), the whole limit can be paid, and more
    # is refused within that window
    assert spent(parties, token) == NOTHING
    full = parties.pay(quote_for(parties, 1000), token)
    over = parties.pay(quote_for(parties, 1), token)
    assert (full.status_code, full.json()["grantSpentDebitAmount"]) == (201, amount(0))
    assert rs(over) == (403, "unauthorized")
    assert spent(parties, token)["spentDebitAmount"] == amount(1000)

    # and windows skipped entirely (five minutes later, within the token's life) count nothing either
    parties.server.advance_clock(300)
    assert spent(parties, token) == NOTHING
    assert parties.pay(quote_for(parties, 1000), token).status_code == 201


def test_a_quote_refused_over_the_limit_is_paid_once_the_next_window_starts(parties: Parties) -> None:
    # given a limit of 1000 a minute, 600 spent, and a quote of 500 refused in that minute
    token = parties.outgoing_token(
        {"debitAmount": amount(1000), "interval": f"R/{wallet_time(parties, -10)}/PT1M"}
    )
    assert parties.pay(quote_for(parties, 600), token).status_code == 201
    quote = quote_for(parties, 500)
    assert rs(parties.pay(quote, token)) == (403, "unauthorized")

    # when the next minute starts and the same quote is paid again
    parties.server.advance_clock(60)
    again = parties.pay(quote, token)

    # then the refusal had not used the quote: it is paid now, counted in the new window only
    assert (again.status_code, again.json()["grantSpentDebitAmount"]) == (201, amount(0))
    assert spent(parties, token)["spentDebitAmount"] == amount(500)
    assert paid_count(parties) == 2


def test_an_interval_starting_later_refuses_payments_until_it_starts(parties: Parties) -> None:
    # given a grant whose daily interval starts in 30 s (wallet clock)
    token = parties.outgoing_token(
        {"debitAmount": amount(1000), "interval": f"R/{wallet_time(parties, 30)}/P1D"}
    )
    quote = quote_for(parties, 100)

    # when it is paid before the start / then 403, nothing paid, nothing spent
    assert rs(parties.pay(quote, token)) == (403, "unauthorized")
    assert spent(parties, token) == NOTHING
    assert paid_count(parties) == 0

    # when the wallet's clock passes the start / then the same quote is paid
    parties.server.advance_clock(31)
    assert parties.pay(quote, token).status_code == 201
    assert spent(parties, token)["spentDebitAmount"] == amount(100)


def test_once_the_repetitions_are_used_up_every_payment_is_refused(parties: Parties) -> None:
    # given a limit of 1000 a minute for the first minute and one repetition (R1: two windows)
    token = parties.outgoing_token(
        {"debitAmount": amount(1000), "interval": f"R1/{wallet_time(parties, -10)}/PT1M"}
    )

    # when 1000 is paid in each of the two windows, then anything after them
    first = parties.pay(quote_for(parties, 1000), token)
    parties.server.advance_clock(60)
    second = parties.pay(quote_for(parties, 1000), token)
    parties.server.advance_clock(60)
    after = parties.pay(quote_for(parties, 1), token)

    # then 201, 201, and 403: no window holds the moment, so nothing is spent in "the current" one
    assert statuses(first, second) == [201, 201]
    assert rs(after) == (403, "unauthorized")
    assert spent(parties, token) == NOTHING
    assert paid_count(parties) == 2


def test_a_single_window_grant_r0_ends_with_its_window(parties: Parties) -> None:
    # given R0: one window of a minute, no repetition
    token = parties.outgoing_token(
        {"debitAmount": amount(1000), "interval": f"R0/{wallet_time(parties, -10)}/PT1M"}
    )
    assert parties.pay(quote_for(parties, 100), token).status_code == 201

    # when the minute is over / then every payment is refused
    parties.server.advance_clock(60)
    assert rs(parties.pay(quote_for(parties, 100), token)) == (403, "unauthorized")


def test_a_receive_amount_limit_also_applies_per_window(parties: Parties) -> None:
    # given a limit of 1000 received a minute
    token = parties.outgoing_token(
        {"receiveAmount": amount(1000), "interval": f"R/{wallet_time(parties, -10)}/PT1M"}
    )

    # when 600 is paid, then 600 again in the minute, then 600 in the next
    first = parties.pay(quote_for(parties, 600), token)
    second = parties.pay(quote_for(parties, 600), token)
    parties.server.advance_clock(60)
    third = parties.pay(quote_for(parties, 600), token)

    # then 201, 403, 201
    assert (first.status_code, rs(second), third.status_code) == (201, (403, "unauthorized"), 201)
    assert spent(parties, token)["spentReceiveAmount"] == amount(600)


def test_a_failed_payment_gives_back_to_the_window_what_it_did_not_send(parties: Parties) -> None:
    # given a limit of 1000 a minute and a payment of 600 that fails (alice's balance gone) before it sent
    parties.server.settings(settleDelaySeconds=30)
    token = parties.outgoing_token(
        {"debitAmount": amount(1000), "interval": f"R/{wallet_time(parties, -10)}/PT1M"}
    )
    failing = parties.pay(quote_for(parties, 600), token)
    assert failing.status_code == 201
    parties.server.set_balance(parties.alice_name, 0)
    parties.server.settle()
    assert parties.op.get(failing.json()["id"], token=token).json()["failed"] is True
    parties.server.set_balance(parties.alice_name, 100_000)

    # when the window's spent figures are read, and 1000 is paid in the same minute
    figures = spent(parties, token)
    full = parties.pay(quote_for(parties, 1000), token)

    # then the failed payment counts nothing, and the whole limit is still there
    assert figures == {"spentDebitAmount": amount(0), "spentReceiveAmount": amount(0)}
    assert full.status_code == 201
