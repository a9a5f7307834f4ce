"""The consent page and the finish redirect (docs/protocol-notes.md §3, §4)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx

from payments.interaction import finish_hash
from testwallet.testing import RunningWallet

from .conftest import Parties
from .opclient import amount
from .pagetext import Page


def test_consent_page_names_the_payee_the_amount_the_wallet_and_the_purpose(parties: Parties) -> None:
    # given a receiver for a job, a quote with a fee and a pending grant limited to that receiver
    ip, _ = parties.incoming_payment(
        1000, metadata={"description": "Job #3: Design a logo", "externalRef": "job-3"}
    )
    parties.server.settings(fees={"*": {"fixed": "20", "basisPoints": 0}})
    quote, _ = parties.quote(ip["id"])
    pending, _ = parties.op.outgoing_grant(
        parties.alice, limits={"debitAmount": quote["debitAmount"], "receiver": ip["id"]}
    )

    # when the user opens interact.redirect
    response = httpx.get(pending.json()["interact"]["redirect"])

    # then one sentence says who asks to pay whom, how much, from which wallet and what for
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = Page(response.text)
    assert [h1.text for h1 in page.tags("h1")] == ["Approve a payment"]
    assert page.texts("lead") == [
        f"Job Board asks to pay Bob up to $10.20 from your wallet Alice ({parties.alice['id']}) "
        "for Job #3: Design a logo."
    ]
    assert page.texts("client-name") == ["Job Board"]
    assert page.texts("amount") == ["up to $10.20"]
    assert page.texts("receiver") == ["Bob"]
    assert page.texts("sender") == ["Alice"]
    assert page.texts("purpose") == ["Job #3: Design a logo"]
    assert page.texts("exchange") == []  # same currency on both sides
    # and the addresses and actions are in a disclosure
    assert [summary.text for summary in page.tags("summary")] == ["Technical details"]
    assert page.definitions("technical") == [
        ("Application", parties.client.url),
        ("Access", "outgoing-payment: read, create"),
        ("From wallet", parties.alice["id"]),
        ("Receiver (incoming payment)", ip["id"]),
        ("Receiver wallet", parties.bob["id"]),
        ("Debit limit", "1020 USD, scale 2"),
    ]
    assert 'id="accept">Accept</button>' in response.text
    assert 'id="decline">Decline</button>' in response.text
    assert "testwallet_interaction=" in response.headers["set-cookie"]


def test_consent_page_is_a_phone_friendly_document_that_is_never_cached(parties: Parties) -> None:
    # given a pending grant
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})

    # when the user opens interact.redirect
    response = httpx.get(pending.json()["interact"]["redirect"])

    # then Back cannot show it from a cache, it scales on a phone, and its CSP allows its own style only
    page = Page(response.text)
    assert response.headers["cache-control"] == "no-store"
    assert response.text.startswith('<!doctype html>\n<html lang="en">')
    assert [meta.attrs for meta in page.tags("meta") if meta.attrs.get("name") == "viewport"] == [
        {"name": "viewport", "content": "width=device-width, initial-scale=1"}
    ]
    assert len(page.tags("main")) == 1 and len(page.tags("h1")) == 1
    assert len(page.tags("style")) == 1
    css = response.text.split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert response.headers["content-security-policy"] == (
        f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; frame-ancestors 'none'"
    )
    assert "overflow-wrap:anywhere" in css
    assert response.headers["x-frame-options"] == "DENY"
    assert [b.attrs["class"] for b in page.tags("button")] == ["button primary", "button secondary"]


def test_budget_grant_reads_every_month_to_any_receiver(parties: Parties) -> None:
    # given a budget: 100.00 USD a month, no receiver
    interval = "R/2026-12-01T00:00:00Z/P1M"
    pending, _ = parties.op.outgoing_grant(
        parties.alice, limits={"debitAmount": amount(10000), "interval": interval}
    )

    # when the user opens interact.redirect
    page = Page(httpx.get(pending.json()["interact"]["redirect"]).text)

    # then the amount, the period and "any receiver" read as a sentence; the raw interval is technical
    assert page.texts("lead") == [
        f"Job Board asks to pay up to $100.00 every month to any receiver from your wallet Alice "
        f"({parties.alice['id']})."
    ]
    assert page.texts("interval") == ["every month"]
    assert ("Interval", interval) in page.definitions("technical")
    assert ("Debit limit", "10000 USD, scale 2") in page.definitions("technical")


def test_cross_currency_page_shows_what_each_side_pays_and_gets_and_the_rate(
    wallet: RunningWallet, parties: Parties, unique: Callable[[str], str]
) -> None:
    # given a EUR payee expecting 40.00 EUR for a job, and 1 USD = 0.92 EUR
    pavel = unique("pavel")
    wallet.create_wallet(pavel, asset_code="EUR", asset_scale=2, public_name="Pavel Provider")
    wallet.settings(rates={"USD:EUR": "0.92"})
    pavel_wallet = parties.op.wallet(wallet.wallet_url(pavel))
    token = parties.op.incoming_grant(pavel_wallet)
    ip = parties.op.post(
        f"{pavel_wallet['resourceServer']}/incoming-payments",
        {
            "walletAddress": pavel_wallet["id"],
            "incomingAmount": amount(4000, "EUR", 2),
            "metadata": {"description": "Job #1: Translate the README"},
        },
        token=token,
    ).json()
    quote, _ = parties.quote(ip["id"])
    pending, _ = parties.op.outgoing_grant(
        parties.alice, limits={"debitAmount": quote["debitAmount"], "receiver": ip["id"]}
    )

    # when the funder opens interact.redirect
    page = Page(httpx.get(pending.json()["interact"]["redirect"]).text)

    # then 40.00 EUR at 0.92 costs 43.48 USD, and the page says both, in their currencies, and the rate
    assert quote["debitAmount"] == amount(4348)
    assert page.texts("lead") == [
        f"Job Board asks to pay Pavel Provider up to $43.48 from your wallet Alice ({parties.alice['id']}) "
        "for Job #1: Translate the README."
    ]
    assert page.texts("exchange") == [
        "You pay up to $43.48 · Pavel Provider receives €40.00 · Rate: 1 USD = 0.92 EUR"
    ]


def test_a_payee_without_a_public_name_is_named_by_its_address(
    wallet: RunningWallet, parties: Parties, unique: Callable[[str], str]
) -> None:
    # given a receiver whose wallet has no public name, and a receive-amount limit
    carol = unique("carol")
    wallet.create_wallet(carol)
    carol_wallet = parties.op.wallet(wallet.wallet_url(carol))
    token = parties.op.incoming_grant(carol_wallet)
    ip = parties.op.post(
        f"{carol_wallet['resourceServer']}/incoming-payments",
        {"walletAddress": carol_wallet["id"]},
        token=token,
    ).json()
    pending, _ = parties.op.outgoing_grant(
        parties.alice, limits={"receiveAmount": amount(2550), "receiver": ip["id"]}
    )

    # when the user opens interact.redirect
    page = Page(httpx.get(pending.json()["interact"]["redirect"]).text)

    # then the address stands for the name, and the amount is what the receiver gets
    assert page.texts("lead") == [
        f"Job Board asks to pay from your wallet Alice ({parties.alice['id']}) so that "
        f"{carol_wallet['id']} receives up to $25.50."
    ]
    assert page.texts("receiver") == [carol_wallet["id"]]
    assert ("Receive limit", "2550 USD, scale 2") in page.definitions("technical")


def test_names_and_purposes_are_escaped(
    wallet: RunningWallet, parties: Parties, unique: Callable[[str], str]
) -> None:
    # given a payee and a purpose holding markup
    mallory = unique("mallory")
    wallet.create_wallet(mallory, public_name="<b>Mallory</b>")
    mallory_wallet = parties.op.wallet(wallet.wallet_url(mallory))
    token = parties.op.incoming_grant(mallory_wallet)
    ip = parties.op.post(
        f"{mallory_wallet['resourceServer']}/incoming-payments",
        {"walletAddress": mallory_wallet["id"], "metadata": {"description": "<script>x()</script>"}},
        token=token,
    ).json()
    pending, _ = parties.op.outgoing_grant(
        parties.alice, limits={"debitAmount": amount(100), "receiver": ip["id"]}
    )

    # when the user opens interact.redirect
    response = httpx.get(pending.json()["interact"]["redirect"])

    # then they are shown as text
    assert Page(response.text).texts("receiver") == ["<b>Mallory</b>"]
    assert Page(response.text).texts("purpose") == ["<script>x()</script>"]
    assert "<script>" not in response.text and "<b>" not in response.text


def test_accept_redirects_with_rafikis_hash_over_the_advertised_auth_server(parties: Parties) -> None:
    # given a pending grant whose finish URI has a query of its own
    pending, nonce = parties.op.outgoing_grant(
        parties.alice, limits={"debitAmount": amount(100)}, finish_uri="http://127.0.0.1:9/cb?job=42&x=a+b"
    )
    finish = pending.json()["interact"]["finish"]

    # when the user accepts
    consent = parties.op.consent(pending.json()["interact"]["redirect"])

    # then the redirect keeps the client's query and adds hash (standard padded base64) and interact_ref
    parts = urlsplit(consent.location)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "127.0.0.1:9", "/cb")
    assert list(parse_qs(parts.query)) == ["job", "x", "hash", "interact_ref"]
    assert parse_qs(parts.query)["x"] == ["a b"]
    expected = finish_hash(
        client_nonce=nonce,
        interact_nonce=finish,
        interact_ref=consent.interact_ref,
        grant_url=parties.alice["authServer"],
    )
    assert consent.query["hash"] == expected
    assert len(expected) == 44 and expected.endswith("=")


def test_auto_consent_accept_finishes_on_the_first_visit(parties: Parties) -> None:
    # given a wallet that consents by itself
    parties.server.settings(autoConsent="accept")
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})

    # when the client follows interact.redirect
    response = httpx.get(pending.json()["interact"]["redirect"])

    # then it is sent straight to the finish URI with an interact_ref that continues the grant
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert list(query) == ["job", "hash", "interact_ref"]
    assert parties.op.continue_(pending.json(), query["interact_ref"][0]).status_code == 200


def test_auto_consent_reject_sends_grant_rejected(parties: Parties) -> None:
    # given a wallet that refuses by itself
    parties.server.settings(autoConsent="reject")
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})

    # when the client follows interact.redirect / then it is told the grant was rejected
    response = httpx.get(pending.json()["interact"]["redirect"])
    assert response.status_code == 302
    assert response.headers["location"] == "http://127.0.0.1:9/callback?job=42&result=grant_rejected"


def test_finish_without_the_session_cookie_is_refused(parties: Parties) -> None:
    # given an accepted interaction
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    redirect = pending.json()["interact"]["redirect"]
    with httpx.Client() as browser:
        browser.get(redirect)
        browser.post(redirect.split("?")[0] + "/accept")

    # when a different browser (no cookie) opens the finish step / then 401 invalid session
    response = httpx.get(redirect.split("?")[0] + "/finish")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "invalid_request", "description": "invalid session"}}


def test_expired_interaction_sends_invalid_interaction_and_the_grant_can_only_be_revoked(
    parties: Parties,
) -> None:
    # given a pending grant whose interaction lifetime (30 s) has passed while the page was open
    parties.server.settings(interactionExpirySeconds=30)
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    redirect = pending.json()["interact"]["redirect"]
    with httpx.Client() as browser:
        assert browser.get(redirect).status_code == 200
        parties.server.advance_clock(31)

        # when the user presses Accept
        chosen = browser.post(redirect.split("?")[0] + "/accept")
        finish = browser.get(str(chosen.next_request.url) if chosen.next_request else "")

    # then the client gets Rafiki's expiry result, no hash, and the grant cannot be continued
    assert finish.status_code == 302
    assert finish.headers["location"] == (
        "http://127.0.0.1:9/callback?job=42&result=invalid_interaction&message=interaction+expired"
    )
    dummy = parties.op.continue_(pending.json(), "00000000-0000-4000-8000-000000000000")
    assert (dummy.status_code, dummy.json()["error"]["code"]) == (404, "invalid_continuation")
    poll = parties.op.continue_(pending.json(), None)
    assert poll.json()["error"] == {"code": "request_denied", "description": "grant cannot be polled"}
    cancel = parties.op.delete(
        pending.json()["continue"]["uri"], token=pending.json()["continue"]["access_token"]["value"]
    )
    assert cancel.status_code == 204


def test_polling_grant_is_approved_by_the_user_then_polled_once(parties: Parties) -> None:
    # given a grant without finish (the client polls)
    pending, _ = parties.op.outgoing_grant(
        parties.alice, limits={"debitAmount": amount(100)}, finish_uri=None
    )
    body = pending.json()

    # when the client polls before, and after, the user accepts
    before = parties.op.continue_(body, None)
    redirect = body["interact"]["redirect"]
    with httpx.Client() as browser:
        browser.get(redirect)
        accepted = browser.post(redirect.split("?")[0] + "/accept", follow_redirects=True)
    after = parties.op.continue_(body, None)
    again = parties.op.continue_(body, None)

    # then: still pending (continue with wait), 202 Accepted for the browser, the token, then refusal
    assert before.status_code == 200
    assert before.json() == {"continue": {**body["continue"], "wait": 0}}
    assert (accepted.status_code, accepted.text) == (202, "Accepted")
    assert after.status_code == 200 and "access_token" in after.json()
    assert again.json() == {"error": {"code": "request_denied", "description": "grant cannot be continued"}}


def test_revisiting_a_decided_interaction_sends_invalid_interaction(parties: Parties) -> None:
    # given an interaction the user already accepted
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    redirect = pending.json()["interact"]["redirect"]
    parties.op.consent(redirect)

    # when interact.redirect is opened again / then the client is told the interaction is invalid
    response = httpx.get(redirect)
    assert response.status_code == 302
    assert response.headers["location"].endswith("&result=invalid_interaction&message=invalid+interaction")


def test_unknown_interaction_is_refused(parties: Parties) -> None:
    # given an interaction URL that does not exist
    url = f"{parties.server.base_url}/auth/interact/00000000-0000-4000-8000-000000000000/0123456789ABCDEF"

    # when opened / then 400 unknown_interaction
    response = httpx.get(url)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "unknown_interaction", "description": "unknown interaction"}}


def test_a_grant_asking_for_several_things_lists_each_in_words(parties: Parties) -> None:
    # given one grant for a payment and for reading every incoming payment of alice
    interact = {
        "start": ["redirect"],
        "finish": {"method": "redirect", "uri": "http://127.0.0.1:9/cb", "nonce": "n"},
    }
    access = [
        {
            "type": "outgoing-payment",
            "actions": ["create"],
            "identifier": parties.alice["id"],
            "limits": {"debitAmount": amount(100)},
        },
        {"type": "incoming-payment", "actions": ["read-all", "list-all"], "identifier": parties.alice["id"]},
    ]
    both = parties.op.grant(parties.alice, access, interact=interact)
    reading = parties.op.grant(parties.alice, access[1:], interact=interact)

    # when the user opens each interact.redirect
    both_page = Page(httpx.get(both.json()["interact"]["redirect"]).text)
    reading_page = Page(httpx.get(reading.json()["interact"]["redirect"]).text)

    # then each thing asked is one item in words; a grant without a payment asks for access
    address = f"({parties.alice['id']})"
    assert both_page.texts("lead") == ["Job Board asks for permission to:"]
    assert both_page.texts("access") == [
        f"pay up to $1.00 to any receiver from your wallet Alice {address}",
        f"read all, list all incoming payments of your wallet Alice {address}",
    ]
    assert [h1.text for h1 in both_page.tags("h1")] == ["Approve a payment"]
    assert [h1.text for h1 in reading_page.tags("h1")] == ["Approve access"]
    assert reading_page.texts("lead") == [
        f"Job Board asks to read all, list all incoming payments of your wallet Alice {address}."
    ]


def test_the_browser_that_accepted_sees_already_approved_and_can_go_back_to_the_application(
    parties: Parties,
) -> None:
    # given an interaction this browser accepted (it holds the session cookie from the first visit)
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    redirect = pending.json()["interact"]["redirect"]
    base = redirect.split("?")[0]
    with httpx.Client(base_url=parties.server.base_url) as browser:
        browser.get(redirect)
        browser.post(f"{base}/accept")

        # when it opens the consent URL again, follows the link, and presses Accept once more
        again = browser.get(redirect)
        page = Page(again.text)
        link = page.by_id("continue")
        assert link is not None
        continued = browser.get(link.attrs["href"])
        second = browser.post(f"{base}/accept")

    # then it is told the decision, with no Accept button, and a link on to the finish step
    assert again.status_code == 200
    assert again.headers["cache-control"] == "no-store"
    assert [h1.text for h1 in page.tags("h1")] == ["Already approved"]
    assert page.texts("decision") == ["You already approved this request from Job Board."]
    assert (link.text, link.attrs["href"]) == ("Continue to Job Board", f"{urlsplit(base).path}/finish")
    assert page.by_id("accept") is None and page.by_id("decline") is None and page.tags("form") == []
    # and the link brings the client its interact_ref, which continues the grant
    assert continued.status_code == 302
    query = parse_qs(urlsplit(continued.headers["location"]).query)
    assert list(query) == ["job", "hash", "interact_ref"]
    assert parties.op.continue_(pending.json(), query["interact_ref"][0]).status_code == 200
    # and a second Accept still goes on to the finish step
    assert (second.status_code, second.headers["location"]) == (303, f"{urlsplit(base).path}/finish")
    # and any other browser still gets Rafiki's answer
    other = httpx.get(redirect)
    assert other.status_code == 302
    assert other.headers["location"].endswith("&result=invalid_interaction&message=invalid+interaction")


def test_the_browser_that_declined_sees_already_declined(parties: Parties) -> None:
    # given an interaction this browser declined
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    redirect = pending.json()["interact"]["redirect"]
    with httpx.Client(base_url=parties.server.base_url) as browser:
        browser.get(redirect)
        browser.post(redirect.split("?")[0] + "/reject")

        # when it opens the consent URL again and follows the link
        page = Page(browser.get(redirect).text)
        link = page.by_id("continue")
        assert link is not None
        continued = browser.get(link.attrs["href"])

    # then it is told it declined, and the link tells the client so
    assert [h1.text for h1 in page.tags("h1")] == ["Already declined"]
    assert page.texts("decision") == ["You already declined this request from Job Board."]
    assert link.text == "Continue to Job Board"
    assert continued.headers["location"] == "http://127.0.0.1:9/callback?job=42&result=grant_rejected"


def test_an_approved_polling_grant_says_the_page_can_be_closed(parties: Parties) -> None:
    # given a grant without finish (the client polls), approved in this browser
    pending, _ = parties.op.outgoing_grant(
        parties.alice, limits={"debitAmount": amount(100)}, finish_uri=None
    )
    redirect = pending.json()["interact"]["redirect"]
    with httpx.Client() as browser:
        browser.get(redirect)
        browser.post(redirect.split("?")[0] + "/accept")

        # when it opens the consent URL again
        page = Page(browser.get(redirect).text)

    # then there is nowhere to go back to: the application polls
    assert [h1.text for h1 in page.tags("h1")] == ["Already approved"]
    assert page.texts("onward") == ["Job Board will pick up your answer. You can close this page."]
    assert page.by_id("continue") is None and page.by_id("accept") is None


def test_a_decision_stands_after_the_grant_is_used_and_ends_with_the_interactions_time(
    parties: Parties,
) -> None:
    # given two interactions this browser accepted
    parties.server.settings(interactionExpirySeconds=30)
    revoked, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    expired, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    with httpx.Client() as browser:
        for pending in (revoked, expired):
            redirect = pending.json()["interact"]["redirect"]
            browser.get(redirect)
            browser.post(redirect.split("?")[0] + "/accept")

        # when it opens one again after the client used and revoked its grant (Back after paying), the
        # other after the interaction's time is up
        continuation = revoked.json()["continue"]
        token = continuation["access_token"]["value"]
        assert parties.op.delete(continuation["uri"], token=token).status_code == 204
        after_revocation = browser.get(revoked.json()["interact"]["redirect"])
        parties.server.advance_clock(31)
        after_expiry = browser.get(expired.json()["interact"]["redirect"])

    # then the first still shows what it decided; the second sends the client result=invalid_interaction,
    # as for anyone else
    assert after_revocation.status_code == 200
    assert [h1.text for h1 in Page(after_revocation.text).tags("h1")] == ["Already approved"]
    assert Page(after_revocation.text).by_id("accept") is None
    assert after_expiry.status_code == 302
    assert after_expiry.headers["location"] == (
        "http://127.0.0.1:9/callback?job=42&result=invalid_interaction&message=invalid+interaction"
    )
