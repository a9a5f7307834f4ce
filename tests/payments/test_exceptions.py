"""payments.exceptions: the hierarchy and what error text may contain."""

from __future__ import annotations

import pytest

import payments
from payments.exceptions import (
    HTTPError,
    InactiveToken,
    OpenPaymentsError,
    ServerError,
    SignatureError,
    TooFast,
    TransportError,
    redact_url,
)


def test_http_error_text_has_status_code_and_redacted_url_only() -> None:
    # given an error for a URL carrying credentials and a query
    error = InactiveToken(
        status=403,
        code="403",
        description="Inactive Token",
        method="get",
        url="https://user:secret@rs.example/t/outgoing-payments/1?token=SECRET#x",
    )

    # when it is shown
    text, shown = str(error), repr(error)

    # then it names status, code, description, method and URL path, and nothing secret
    assert text == "403 from GET https://rs.example/t/outgoing-payments/1: 403 Inactive Token"
    assert shown == (
        "InactiveToken(status=403, code='403', description='Inactive Token', method='GET', "
        "url='https://rs.example/t/outgoing-payments/1')"
    )
    assert "SECRET" not in text + shown and "secret" not in text + shown
    assert isinstance(error, HTTPError) and isinstance(error, OpenPaymentsError)


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (403, False), (429, True), (500, True), (503, True)]
)
def test_retryable_is_true_for_5xx_and_429(status: int, retryable: bool) -> None:
    # given an HTTP error with a status / when asked / then only 5xx and 429 are retryable
    assert (
        HTTPError(
            status=status, code=None, description=None, method="POST", url="https://a.example/"
        ).retryable
        is retryable
    )


def test_too_fast_carries_wait_and_server_error_is_retryable() -> None:
    # given a too_fast answer and a 502
    too_fast = TooFast(
        wait=5, status=400, code="too_fast", description="slow down", method="POST", url="https://a.example/c"
    )
    server = ServerError(status=502, code=None, description=None, method="POST", url="https://a.example/c")

    # when inspected / then the wait is kept, and the 5xx is retryable
    assert (too_fast.wait, too_fast.retryable, server.retryable) == (5, False, True)
    assert str(server) == "502 from POST https://a.example/c"


def test_transport_error_is_retryable_and_redacts() -> None:
    # given a timeout on a URL with a query
    error = TransportError("timed out", method="GET", url="https://a.example/x?secret=1")

    # when shown / then the query is gone
    assert (str(error), error.retryable) == ("timed out (GET https://a.example/x)", True)


def test_signature_error_reasons_are_closed() -> None:
    # given a known and an unknown reason
    # when built / then the known one carries .reason and the unknown one is a programming error
    assert SignatureError("invalid signature").reason == "invalid signature"
    with pytest.raises(ValueError, match="unknown signature error reason"):
        SignatureError("nope")


def test_redact_url_keeps_scheme_host_port_path() -> None:
    # given URLs with userinfo, port, query / when redacted / then only scheme, host, port and path remain
    assert redact_url("http://u:p@127.0.0.1:4006/t?q=1") == "http://127.0.0.1:4006/t"


def test_public_names_are_exported() -> None:
    # given the package / when its __all__ is read / then every name resolves
    assert all(hasattr(payments, name) for name in payments.__all__)
    assert "OpenPaymentsError" in payments.__all__ and "verify_request" in payments.__all__
