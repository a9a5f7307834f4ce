"""Wire formats: amounts, timestamps, identifiers and JSON exactly as Rafiki writes them; and how
amounts and rates read for a person on the wallet's pages."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction

from babel.numbers import format_currency, format_decimal, get_currency_symbol

MAX_UINT64 = 2**64 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UINT = re.compile(r"[0-9]+\Z")
_ARRAY_INDEX = re.compile(r"(?:0|[1-9][0-9]*)\Z")
# The wallet's pages speak one language; amounts read as in the United States.
LOCALE = "en_US"
RATE_DIGITS = 6  # significant digits of a rate shown to a person


def iso(ms: int) -> str:
    """Format epoch milliseconds as ``2026-11-26T05:26:18.350Z`` (JS ``Date.toISOString``)."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def parse_iso(text: str) -> int:
    """Parse an RFC 3339 date-time into epoch milliseconds; ValueError when it is not one."""
    if not isinstance(text, str) or "T" not in text.upper():
        raise ValueError("not a date-time")
    moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("date-time needs a time zone")
    delta = moment - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def parse_uint64(value: object) -> int | None:
    """The integer in an amount ``value`` string, or None when it is not an unsigned 64-bit integer."""
    if not isinstance(value, str) or not _UINT.match(value):
        return None
    number = int(value)
    return number if number <= MAX_UINT64 else None


def amount(value: int, asset_code: str, asset_scale: int) -> dict[str, object]:
    """An Open Payments amount object; the value is a string, never a number."""
    return {"value": str(value), "assetCode": asset_code, "assetScale": asset_scale}


def format_money(value: int, asset_code: str, asset_scale: int) -> str:
    """A minor-unit amount as a person reads it: ``4500`` USD at scale 2 is ``$45.00``, ``120000`` is
    ``$1,200.00``; exactly ``asset_scale`` digits after the point, nothing rounded. An asset with no
    currency symbol keeps its code after the number: ``45.00 XYZ``."""
    number = Decimal(value).scaleb(-asset_scale)
    digits = "#,##0" + ("." + "0" * asset_scale if asset_scale else "")
    if get_currency_symbol(asset_code, LOCALE) == asset_code:
        return f"{format_decimal(number, format=digits, locale=LOCALE)} {asset_code}"
    text: str = format_currency(number, asset_code, format="¤" + digits, locale=LOCALE, currency_digits=False)
    return text


def format_rate(source: str, target: str, rate: Fraction) -> str:
    """An exchange rate as a person reads it: ``1 USD = 0.92 EUR`` (six significant digits at most)."""
    with localcontext() as context:
        context.prec = RATE_DIGITS
        shown = (Decimal(rate.numerator) / Decimal(rate.denominator)).normalize()
    decimals = max(0, -int(shown.as_tuple().exponent))
    number = format_decimal(shown, format="#,##0" + ("." + "0" * decimals if decimals else ""), locale=LOCALE)
    return f"1 {source} = {number} {target}"


def new_uuid() -> str:
    """A random UUID string (continue ids, manage ids, resource ids)."""
    return str(uuid.uuid4())


def new_token() -> str:
    """An access or continuation token: 10 random bytes as 20 upper-case hex characters (Rafiki)."""
    return secrets.token_hex(10).upper()


def new_interact_nonce() -> str:
    """The AS finish nonce (``interact.finish``): 16 upper-case hex characters (observed in Rafiki)."""
    return secrets.token_hex(8).upper()


def js_order(value: object) -> object:
    """Reorder object keys as JavaScript does: array-index keys first, ascending, then insertion order.

    Rafiki stores metadata through ``JSON.parse``; echoing it in this order matches what it returns.
    """
    if isinstance(value, dict):
        index_keys = sorted((k for k in value if _ARRAY_INDEX.match(k) and int(k) < 2**32 - 1), key=int)
        other_keys = [k for k in value if k not in index_keys]
        return {k: js_order(value[k]) for k in [*index_keys, *other_keys]}
    if isinstance(value, list):
        return [js_order(item) for item in value]
    return value


def json_bytes(value: object) -> bytes:
    """Compact UTF-8 JSON, non-ASCII unescaped: byte-identical to ``JSON.stringify``."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
