"""Flower only behind a log-in: it lists every task with its arguments and can revoke or kill them.

Flower reads `marketplace/flowerconfig.py` (its `--conf`, which every start of ours passes), and that
calls `refuse_without_login()`: Flower stops at once, saying what to set, unless it has credentials
(FLOWER_BASIC_AUTH, or Flower's --auth with an OAuth provider). The one exception is `make demo`
(marketplace.devstack) on a loopback address with DEBUG on; it marks its Flower with DEMO_FLAG.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence

DEMO_FLAG = "DEMO_FLOWER_WITHOUT_LOGIN"
NO_LOGIN = (
    "Flower will not run without a log-in here: set FLOWER_BASIC_AUTH=user:password (or use Flower's "
    "--auth with an OAuth provider). Only `make demo` on a loopback address runs it without one."
)
BAD_BASIC_AUTH = "FLOWER_BASIC_AUTH must be user:password (several separated by commas), neither part empty."


def is_loopback(address: str) -> bool:
    """Whether `address` (Flower's --address; empty: every interface) is reachable from this host only."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def refusal(*, basic_auth: Sequence[str], auth: str, address: str, debug: bool, demo: bool) -> str | None:
    """Why Flower must not start with these options, or None when it may."""
    entries = [entry.strip() for entry in basic_auth if entry.strip()]
    if any(not user or not password for user, _, password in (e.partition(":") for e in entries)):
        return BAD_BASIC_AUTH
    if entries or auth:
        return None
    if demo and debug and is_loopback(address):
        return None
    return NO_LOGIN


def refuse_without_login() -> None:
    """Exits (code 1, saying why) when the Flower starting in this process would run without a log-in."""
    from django.conf import settings
    from tornado.options import options

    problem = refusal(
        basic_auth=options.basic_auth or (),
        auth=options.auth or "",
        address=options.address or "",
        debug=settings.DEBUG,
        demo=os.environ.get(DEMO_FLAG) == "1",
    )
    if problem is not None:
        raise SystemExit(f"[flower] {problem}")
