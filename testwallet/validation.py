"""Request-body validation against the Open Payments OpenAPI schemas, with AJV-style messages.

Hand-written rather than a generic JSON-schema engine: it is on the hot path of every grant request,
and Rafiki's answers quote AJV's first error (``body must have required property 'quoteId'``), which
we reproduce by checking ``required`` before ``additionalProperties`` and reporting the first branch
of a failed ``oneOf``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .formats import parse_iso

Check = Callable[[str, Any], str | None]

_RECEIVER = re.compile(r"^(https|http)://(.+)/incoming-payments/(.+)$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")
_B64URL = re.compile(r"^[a-zA-Z0-9-_]+$")
_DIGITS = re.compile(r"[0-9]{1,20}\Z")

INCOMING_ACTIONS = ("create", "complete", "read", "read-all", "list", "list-all")
OUTGOING_ACTIONS = ("create", "read", "read-all", "list", "list-all")
QUOTE_ACTIONS = ("create", "read", "read-all")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"


def string(path: str, value: Any) -> str | None:
    return None if isinstance(value, str) else f"{path} must be string"


def uri(path: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{path} must be string"
    return None if _URI.match(value) else f'{path} must match format "uri"'


def date_time(path: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{path} must be string"
    try:
        parse_iso(value)
    except ValueError:
        return f'{path} must match format "date-time"'
    return None


def json_object(path: str, value: Any) -> str | None:
    return None if isinstance(value, dict) else f"{path} must be object"


def receiver(path: str, value: Any) -> str | None:
    error = uri(path, value)
    if error:
        return error
    return None if _RECEIVER.match(value) else f'{path} must match pattern "{_RECEIVER.pattern}"'


def enum(*allowed: str) -> Check:
    def check(path: str, value: Any) -> str | None:
        return None if value in allowed else f"{path} must be equal to one of the allowed values"

    return check


def amount(path: str, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"{path} must be object"
    for key in ("value", "assetCode", "assetScale"):
        if key not in value:
            return f"{path} must have required property '{key}'"
    if not isinstance(value["value"], str):
        return f"{path}/value must be string"
    if not _DIGITS.match(value["value"]):
        return f'{path}/value must match format "uint64"'
    if not isinstance(value["assetCode"], str):
        return f"{path}/assetCode must be string"
    scale = value["assetScale"]
    if not isinstance(scale, int) or isinstance(scale, bool):
        return f"{path}/assetScale must be integer"
    if not 0 <= scale <= 255:
        return f"{path}/assetScale must be {'>= 0' if scale < 0 else '<= 255'}"
    return None


def obj(
    properties: dict[str, Check],
    required: tuple[str, ...] = (),
    *,
    additional: bool = False,
) -> Check:
    """An object schema; ``required`` is checked before unknown keys, as AJV reports it."""

    def check(path: str, value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"{path} must be object"
        for key in required:
            if key not in value:
                return f"{path} must have required property '{key}'"
        if not additional:
            for key in value:
                if key not in properties:
                    return f"{path} must NOT have additional properties"
        for key, sub in properties.items():
            if key in value:
                error = sub(f"{path}/{key}", value[key])
                if error:
                    return error
        return None

    return check


def array(items: Check, *, unique: bool = False, min_items: int = 0, max_items: int | None = None) -> Check:
    def check(path: str, value: Any) -> str | None:
        if not isinstance(value, list):
            return f"{path} must be array"
        if len(value) < min_items:
            return f"{path} must NOT have fewer than {min_items} items"
        if max_items is not None and len(value) > max_items:
            return f"{path} must NOT have more than {max_items} items"
        for index, item in enumerate(value):
            error = items(f"{path}/{index}", item)
            if error:
                return error
        if unique:
            seen = [repr(item) for item in value]
            if len(set(seen)) != len(seen):
                return f"{path} must NOT have duplicate items"
        return None

    return check


def one_of(*branches: Check) -> Check:
    """Exactly one branch must match; on failure report the first branch's first error (AJV order)."""

    def check(path: str, value: Any) -> str | None:
        errors = [branch(path, value) for branch in branches]
        matches = sum(error is None for error in errors)
        if matches == 1:
            return None
        if matches > 1:
            return f"{path} must match exactly one schema in oneOf"
        return errors[0]

    return check


# --- auth server ----------------------------------------------------------------------------------

_JWK = obj(
    {
        "kid": string,
        "alg": enum("EdDSA"),
        "use": enum("sig"),
        "kty": enum("OKP"),
        "crv": enum("Ed25519"),
        "x": lambda p, v: (
            string(p, v) or (None if _B64URL.match(v) else f'{p} must match pattern "^[a-zA-Z0-9-_]+$"')
        ),
    },
    ("kid", "alg", "kty", "crv", "x"),
    additional=True,
)


def _client(path: str, value: Any) -> str | None:
    if isinstance(value, str):
        return uri(path, value)
    if isinstance(value, dict):
        if "walletAddress" in value:
            return obj({"walletAddress": uri}, ("walletAddress",))(path, value)
        if "jwk" in value:
            return obj({"jwk": _JWK}, ("jwk",))(path, value)
        return f"{path} must have required property 'walletAddress'"
    return f"{path} must be string"


def _limits(path: str, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"{path} must be object"
    checks: dict[str, Check] = {
        "receiver": receiver,
        "interval": string,
        "debitAmount": amount,
        "receiveAmount": amount,
    }
    for key, check in checks.items():
        if key in value:
            error = check(f"{path}/{key}", value[key])
            if error:
                return error
    return None


def _access_item(path: str, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"{path} must be object"
    kind = value.get("type")
    if kind == "incoming-payment":
        schema = obj(
            {"type": string, "actions": array(enum(*INCOMING_ACTIONS), unique=True), "identifier": uri},
            ("type", "actions"),
        )
    elif kind == "outgoing-payment":
        schema = obj(
            {
                "type": string,
                "actions": array(enum(*OUTGOING_ACTIONS), unique=True),
                "identifier": uri,
                "limits": _limits,
            },
            ("type", "actions", "identifier"),
        )
    elif kind == "quote":
        schema = obj(
            {"type": string, "actions": array(enum(*QUOTE_ACTIONS), unique=True)}, ("type", "actions")
        )
    elif "type" not in value:
        return f"{path} must have required property 'type'"
    else:
        return f"{path}/type must be equal to one of the allowed values"
    return schema(path, value)


_INTERACT = obj(
    {
        "start": array(enum("redirect")),
        "finish": obj(
            {"method": enum("redirect"), "uri": uri, "nonce": string},
            ("method", "uri", "nonce"),
            additional=True,
        ),
    },
    ("start",),
    additional=True,
)
_SUBJECT = obj(
    {
        "sub_ids": array(
            obj({"id": string, "format": enum("uri")}, ("id", "format"), additional=True),
            min_items=1,
            max_items=1,
        )
    },
    ("sub_ids",),
    additional=True,
)
_ACCESS_TOKEN = obj({"access": array(_access_item, unique=True, max_items=3)}, ("access",), additional=True)
_GRANT_PROPERTIES: dict[str, Check] = {
    "client": _client,
    "interact": _INTERACT,
    "access_token": _ACCESS_TOKEN,
    "subject": _SUBJECT,
}


def grant_request_error(body: Any) -> str | None:
    """First validation error of a grant request body (``grant-request`` anyOf), or None."""
    if not isinstance(body, dict):
        return "body must be object"
    with_token = obj(_GRANT_PROPERTIES, ("client", "access_token"), additional=True)("body", body)
    if with_token is None:
        return None
    with_subject = obj(_GRANT_PROPERTIES, ("client", "interact", "subject"), additional=True)("body", body)
    return None if with_subject is None else with_token


def continue_request_error(body: Any) -> str | None:
    """First validation error of a continuation request body, or None."""
    return obj({"interact_ref": string}, additional=True)("body", body)


# --- resource server ------------------------------------------------------------------------------

_METADATA = json_object

INCOMING_PAYMENT_REQUEST = obj(
    {"walletAddress": uri, "incomingAmount": amount, "expiresAt": date_time, "metadata": _METADATA},
    ("walletAddress",),
)
QUOTE_REQUEST = one_of(
    obj(
        {"walletAddress": uri, "receiver": receiver, "method": enum("ilp")},
        ("walletAddress", "receiver", "method"),
    ),
    obj(
        {"walletAddress": uri, "receiver": receiver, "method": enum("ilp"), "receiveAmount": amount},
        ("walletAddress", "receiver", "method", "receiveAmount"),
    ),
    obj(
        {"walletAddress": uri, "receiver": receiver, "method": enum("ilp"), "debitAmount": amount},
        ("walletAddress", "receiver", "method", "debitAmount"),
    ),
)
OUTGOING_PAYMENT_REQUEST = one_of(
    obj({"walletAddress": uri, "quoteId": uri, "metadata": _METADATA}, ("quoteId", "walletAddress")),
    obj(
        {"walletAddress": uri, "incomingPayment": uri, "debitAmount": amount, "metadata": _METADATA},
        ("incomingPayment", "debitAmount", "walletAddress"),
    ),
)
