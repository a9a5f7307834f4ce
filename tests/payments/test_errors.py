"""payments.exceptions.error_from_response: the one place status and body become an error type."""

from __future__ import annotations

import json

import pytest

from payments import (
    BadRequest,
    Conflict,
    Forbidden,
    HTTPError,
    InactiveToken,
    InvalidQuote,
    InvalidReceiver,
    NotFound,
    ServerError,
    TooFast,
    Unauthorized,
    error_from_response,
)


def _body(code: str | None, description: str) -> bytes:
    error: dict[str, str] = {"description": description}
    if code is not None:
        error["code"] = code
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("status", "content", "kind", "code", "description"),
    [
        (
            400,
            _body("too_fast", 'continued grant faster than "wait" period'),
            TooFast,
            "too_fast",
            'continued grant faster than "wait" period',
        ),
        (400, _body("400", "invalid quote"), InvalidQuote, "400", "invalid quote"),
        (400, _body("400", "invalid receiver"), InvalidReceiver, "400", "invalid receiver"),
        (
            400,
            _body(None, "must have required property 'signature-input'"),
            BadRequest,
            None,
            "must have required property 'signature-input'",
        ),
        (
            401,
            _body("request_denied", "grant cannot be polled"),
            Unauthorized,
            "request_denied",
            "grant cannot be polled",
        ),
        (403, _body("403", "Inactive Token"), InactiveToken, "403", "Inactive Token"),
        (403, _body("403", "unauthorized"), Forbidden, "403", "unauthorized"),
        (
            404,
            _body("invalid_continuation", "grant not found"),
            NotFound,
            "invalid_continuation",
            "grant not found",
        ),
        (409, _body("409", "wrong state"), Conflict, "409", "wrong state"),
        (429, b"slow down", HTTPError, None, None),
        (500, b"<html>oops</html>", ServerError, None, None),
    ],
)
def test_maps_rafiki_error_bodies(
    status: int, content: bytes, kind: type[HTTPError], code: str | None, description: str | None
) -> None:
    # given an error response as Rafiki sends it / when mapped
    error = error_from_response(
        status=status, content=content, method="POST", url="https://rs.example/x?y=1", wait=3
    )

    # then the type and the fields are exact
    assert (type(error), error.status, error.code, error.description, error.url) == (
        kind,
        status,
        code,
        description,
        "https://rs.example/x",
    )


def test_too_fast_carries_the_continuation_wait() -> None:
    # given a too_fast answer to a continuation that said wait 5 / when mapped / then wait is 5
    error = error_from_response(
        status=400, content=_body("too_fast", "x"), method="POST", url="https://a/c", wait=5
    )
    assert isinstance(error, TooFast) and error.wait == 5
