"""payments.exceptions.error_from_response: a hostile error body still gives a plain, bounded HTTPError."""

from __future__ import annotations

import json

from payments import BadRequest, ServerError, error_from_response


def test_a_body_nested_past_the_parser_is_an_error_without_code() -> None:
    # given a 502 whose body is 100 000 nested arrays
    content = b"[" * 100_000 + b"]" * 100_000

    # when mapped
    error = error_from_response(status=502, content=content, method="GET", url="https://rs.example/x")

    # then it is the status's error type, with nothing read from the body
    assert (type(error), error.code, error.description) == (ServerError, None, None)


def test_long_codes_and_descriptions_are_cut_short() -> None:
    # given a 400 whose code and description run to 100 000 characters
    content = json.dumps({"error": {"code": "c" * 100_000, "description": "d" * 100_000}}).encode()

    # when mapped
    error = error_from_response(status=400, content=content, method="POST", url="https://rs.example/quotes")

    # then both are kept only up to their caps, marked as cut
    assert type(error) is BadRequest
    assert error.code == "c" * 99 + "…"
    assert error.description == "d" * 499 + "…"
    assert len(str(error)) == len("400 from POST https://rs.example/quotes: ") + 100 + 1 + 500
