"""The wallet's pages for people: one look for all of them, and the root page listing the wallets.

Every page is a card in a ``<main>`` landmark, readable on a 390 px phone, and carries its own stylesheet
(this is another site than the marketplace); the Content-Security-Policy allows exactly that stylesheet
and nothing else, and forbids framing (a consent page must not be clickjacked).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .formats import format_money
from .models import Wallet
from .replies import services
from .urls import Urls

SITE_NAME = "Local Open Payments wallet"

# Colours meet WCAG AA on their backgrounds: text #1f2933 on white 14.8:1, muted #52606d 6.5:1 (6.0:1
# on the #f5f7fa panel), white on the primary #1d4ed8 6.7:1, the primary as text on white 6.7:1, the
# focus ring #b45309 5.0:1 on white.
CSS = """
*,*::before,*::after{box-sizing:border-box}
html{color-scheme:light;-webkit-text-size-adjust:100%}
body{margin:0;background:#eef2f6;color:#1f2933;
font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:34rem;margin:1.5rem auto;padding:1.5rem 1.25rem;background:#fff;border-radius:12px;
box-shadow:0 1px 3px rgba(15,23,42,.12),0 8px 24px rgba(15,23,42,.06)}
@media (max-width:36rem){main{margin:0;min-height:100vh;border-radius:0;box-shadow:none}}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}
h2{font-size:1.15rem;margin:1.5rem 0 .75rem}
h3{font-size:1rem;margin:0}
p{margin:0 0 1rem}
a{color:#1d4ed8}
.brand{font-size:.875rem;font-weight:600;color:#52606d;margin-bottom:.25rem}
.lead{font-size:1.125rem}
main{overflow-wrap:break-word}
.address,.technical dd,.wallet a{overflow-wrap:anywhere}
.address{color:#52606d}
.exchange{padding:.75rem 1rem;background:#f5f7fa;border-left:4px solid #1d4ed8;border-radius:4px}
.exchange .rate{white-space:nowrap}
details{margin:0 0 1.25rem;border:1px solid #d9e2ec;border-radius:8px;padding:.5rem .75rem}
summary{cursor:pointer;font-weight:600;padding:.25rem 0}
dl{margin:.5rem 0 0}
.technical dt{font-size:.875rem;font-weight:600;color:#52606d;margin-top:.5rem}
.technical dd{margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875rem}
.actions{display:flex;flex-wrap:wrap;gap:.75rem}
.actions form{flex:1 1 12rem;margin:0}
.button{display:block;width:100%;min-height:3rem;padding:.75rem 1rem;border-radius:8px;
border:2px solid #1d4ed8;font:inherit;font-weight:600;font-size:1.0625rem;text-align:center;
text-decoration:none;cursor:pointer}
.primary{background:#1d4ed8;color:#fff}
.primary:hover{background:#1e40af;border-color:#1e40af}
.secondary{background:#fff;color:#1d4ed8}
.secondary:hover{background:#eff4ff}
:focus-visible{outline:3px solid #b45309;outline-offset:2px}
.wallets{list-style:none;margin:0 0 1.25rem;padding:0}
.wallet{padding:.875rem 0;border-top:1px solid #d9e2ec}
.wallet:last-child{border-bottom:1px solid #d9e2ec}
.wallet dl{display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;margin:.25rem 0 0}
.wallet dl div{display:flex;gap:.375rem}
.wallet dt{color:#52606d}
.wallet dd{margin:0;font-weight:600}
"""

_STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()

HEADERS = {
    # Back must not show a page whose buttons no longer work (or a balance that changed).
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def document(title: str, body: str) -> str:
    """A whole HTML page titled ``title`` (plain text) whose card holds ``body`` (HTML)."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title if title == SITE_NAME else f"{title} - {SITE_NAME}")}</title>
<style>{CSS}</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""


def html_response(html: str) -> HTMLResponse:
    """A page (:func:`document`) as a response, with the pages' headers (no caching, the CSP)."""
    return HTMLResponse(html, headers=HEADERS)


def wants_html(request: Request) -> bool:
    """Whether the client asked for a web page (a browser) rather than JSON."""
    return "text/html" in request.headers.get("accept", "")


# --- the root page ------------------------------------------------------------------------------------


def wallet_item(urls: Urls, wallet: Wallet) -> str:
    """One wallet of the root page: its name, its address (a link), its asset and its balance."""
    address = escape(urls.wallet(wallet.name))
    balance = format_money(wallet.balance, wallet.asset_code, wallet.asset_scale)
    return (
        '<li class="wallet">'
        f'<h3 class="wallet-name">{escape(wallet.public_name or wallet.name)}</h3>'
        f'<a class="address" href="{address}">{address}</a>'
        "<dl>"
        f'<div><dt>Asset</dt><dd class="asset">{escape(wallet.asset_code)}</dd></div>'
        f'<div><dt>Balance</dt><dd class="balance">{escape(balance)}</dd></div>'
        "</dl></li>"
    )


def home_body(urls: Urls, wallets: list[Wallet]) -> str:
    """The root page's content: what this is, and every wallet it serves (never their keys)."""
    listing = (
        f'<ul class="wallets">{"".join(wallet_item(urls, wallet) for wallet in wallets)}</ul>'
        if wallets
        else '<p class="empty">No wallets yet.</p>'
    )
    return (
        f"<h1>{SITE_NAME}</h1>"
        "<p>A test wallet that speaks Open Payments: applications ask it to make payments, "
        "and you approve each one on its consent page.</p>"
        "<h2>Wallets</h2>"
        f"{listing}"
        '<details><summary>Technical details</summary><dl class="technical">'
        f"<dt>Auth server</dt><dd>{escape(urls.auth_server)}</dd>"
        f"<dt>Resource server</dt><dd>{escape(urls.resource_server)}</dd>"
        "</dl></details>"
    )


async def home(request: Request) -> Response:
    """``GET /``: the root page for a browser; everyone else gets the wallet's JSON 404 as before."""
    if request.method not in ("GET", "HEAD") or not wants_html(request):
        raise HTTPException(404)
    store = services(request).store
    with store.lock:
        wallets = list(store.wallets.values())
    return html_response(document(SITE_NAME, home_body(store.urls, wallets)))


# Every method, so that anything but a browser's GET keeps the 404 that ``/`` always answered (not a 405).
routes = [Route("/", home, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])]
