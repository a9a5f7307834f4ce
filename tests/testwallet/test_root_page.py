"""The wallet's root page `/`: a page listing its wallets for a browser, the old JSON 404 for anyone else."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from testwallet.pages import home_body
from testwallet.testing import RunningWallet
from testwallet.urls import Urls

from .pagetext import Element, Page

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
NOT_FOUND = {"error": {"code": "404", "description": "Not Found"}}


def row(item: Element, page: Page) -> tuple[str, str, str, str, str]:
    """One wallet as a person reads it: name, address text, link target, asset, balance."""
    inside = page.inside(item)

    def text(css_class: str) -> str:
        (found,) = [element for element in inside if css_class in element.classes]
        return found.text

    (link,) = [element for element in inside if element.tag == "a"]
    return text("wallet-name"), link.text, link.attrs["href"], text("asset"), text("balance")


def test_root_page_lists_every_wallet_with_its_asset_and_balance(
    wallet: RunningWallet, unique: Callable[[str], str]
) -> None:
    # given a USD wallet, a EUR wallet at scale 3 without a public name, and a client wallet with a key
    fiona, euro = unique("fiona"), unique("euro")
    wallet.create_wallet(fiona, public_name="Fiona Funder", balance=123456)
    wallet.create_wallet(euro, asset_code="EUR", asset_scale=3, balance=5)
    client = wallet.create_client(unique("platform"), public_name="Job Board")

    # when a browser opens the wallet's root URL
    response = httpx.get(f"{wallet.base_url}/", headers=BROWSER)

    # then it lists them: name (else the path), address as a link, currency, balance formatted
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    page = Page(response.text)
    assert [h1.text for h1 in page.tags("h1")] == ["Local Open Payments wallet"]
    assert [h2.text for h2 in page.tags("h2")] == ["Wallets"]
    rows = {r[1]: r for r in (row(item, page) for item in page.with_class("wallet"))}
    fiona_url, euro_url = wallet.wallet_url(fiona), wallet.wallet_url(euro)
    assert rows[fiona_url] == ("Fiona Funder", fiona_url, fiona_url, "USD", "$1,234.56")
    assert rows[euro_url] == (euro, euro_url, euro_url, "EUR", "€0.005")
    assert rows[client.url] == ("Job Board", client.url, client.url, "USD", "$0.00")
    # and never a key
    assert client.public_jwk["x"] not in response.text and client.key_id not in response.text
    # and where its servers are
    document = httpx.get(fiona_url).json()
    assert page.definitions("technical") == [
        ("Auth server", document["authServer"]),
        ("Resource server", document["resourceServer"]),
    ]


def test_root_page_is_phone_friendly_and_accessible(wallet: RunningWallet) -> None:
    # when a browser opens the root URL
    response = httpx.get(f"{wallet.base_url}/", headers=BROWSER)

    # then it is an English document that scales on a phone, with one main landmark and one h1
    page = Page(response.text)
    assert response.text.startswith('<!doctype html>\n<html lang="en">')
    assert [meta.attrs for meta in page.tags("meta") if meta.attrs.get("name") == "viewport"] == [
        {"name": "viewport", "content": "width=device-width, initial-scale=1"}
    ]
    assert (len(page.tags("main")), len(page.tags("h1"))) == (1, 1)
    assert response.headers["x-frame-options"] == "DENY"


def test_root_url_answers_other_clients_as_before(wallet: RunningWallet) -> None:
    # when a JSON client, a client accepting anything, and a POST reach the root URL
    answers = [
        httpx.get(f"{wallet.base_url}/", headers={"Accept": "application/json"}),
        httpx.get(f"{wallet.base_url}/"),
        httpx.post(f"{wallet.base_url}/", headers=BROWSER),
    ]

    # then each gets the wallet's JSON 404, as before there was a page
    for answer in answers:
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert answer.json() == NOT_FOUND


def test_root_page_of_a_wallet_without_wallets_says_so() -> None:
    # given a wallet serving no wallet address yet
    urls = Urls("http://127.0.0.1:4000", "t")

    # when its root page is made / then it says there are none
    page = Page(home_body(urls, []))
    assert page.texts("empty") == ["No wallets yet."]
    assert page.with_class("wallet") == []
