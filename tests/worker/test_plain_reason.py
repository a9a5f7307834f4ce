"""What a funder reads when a wallet refused a step: our sentence, the wallet's own words when it gave
some (quoted, on one line, cut short), and what to do."""

from __future__ import annotations

from payments.exceptions import HTTPError, NotFound
from worker.pipeline import WALLET_WORDS_LIMIT, plain_reason


def refusal(status: int, description: str | None, cls: type[HTTPError] = HTTPError) -> HTTPError:
    return cls(
        status=status, code="invalid_request", description=description, method="POST", url="https://w/q"
    )


def test_a_refusal_with_the_wallets_reason_quotes_it():
    # when / then
    assert plain_reason(refusal(400, "Insufficient\n funds in account")) == (
        "The wallet could not prepare this payment. The wallet said: “Insufficient funds in account”. "
        "Please try again."
    )


def test_a_refusal_without_a_reason_says_what_we_know():
    # when / then
    assert plain_reason(refusal(400, None)) == "The wallet could not prepare this payment. Please try again."
    assert plain_reason(refusal(403, "  ")) == (
        "The wallet refused our request. Please try again; if it keeps failing, contact support."
    )


def test_a_not_found_keeps_its_advice_after_the_wallets_words():
    # when / then
    assert plain_reason(refusal(404, "unknown wallet address", NotFound)) == (
        "A wallet did not recognise this payment. The wallet said: “unknown wallet address”. "
        "Check both wallet addresses and try again."
    )


def test_a_long_reason_is_cut_short():
    # given
    reason = plain_reason(refusal(400, "x" * 1000))
    # then
    quoted = reason.split("“")[1].split("”")[0]
    assert len(quoted) == WALLET_WORDS_LIMIT
    assert quoted.endswith("…")
