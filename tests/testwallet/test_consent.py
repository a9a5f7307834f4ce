"""The consent page and the finish redirect (docs/protocol-notes.md §3, §4)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from payments.interaction import finish_hash

from .conftest import Parties
from .opclient import amount


def test_consent_page_shows_client_amount_and_receiver(parties: Parties) -> None:
    # given a receiver, a quote and a pending grant limited to that receiver
    ip, _ = parties.incoming_payment(1000)
    parties.server.settings(fees={"*": {"fixed": "20", "basisPoints": 0}})
    quote, _ = parties.quote(ip["id"])
    pending, _ = parties.op.outgoing_grant(
        parties.alice, limits={"debitAmount": quote["debitAmount"], "receiver": ip["id"]}
    )

    # when the user opens interact.redirect
    page = httpx.get(pending.json()["interact"]["redirect"])

    # then the page names the client, formats the amount with its scale and asset, and shows the receiver
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<strong class="client-name">Job Board</strong>' in html
    assert "<strong class='amount'>up to 10.20 USD</strong>" in html
    assert f"<strong class='receiver'>{parties.bob['id']} ({ip['id']})</strong>" in html
    assert f"<strong class='sender'>{parties.alice['id']}</strong>" in html
    assert 'id="accept">Accept</button>' in html and 'id="decline">Decline</button>' in html
    assert "testwallet_interaction=" in page.headers["set-cookie"]


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
