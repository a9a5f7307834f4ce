"""payments.exceptions: the hierarchy and what error text may contain."""

from __future__ import annotations

import pickle

import pytest

import payments
from payments.exceptions import (
    HostNotFound,
    HTTPError,
    InactiveToken,
    OpenPaymentsError,
    ServerError,
    SignatureError,
    TLSError,
    TooFast,
    TransportError,
    UnsafeURLError,
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


def test_transport_errors_carry_a_reason_and_whether_to_retry() -> None:
    # given one error of each kind, made without and with a reason
    errors = [
        TransportError("the wallet did not answer"),
        TransportError("timed out (ReadTimeout)", reason="timeout"),
        TLSError("TLS certificate not trusted: x", reason="certificate"),
        TLSError("TLS handshake failed: x"),
        HostNotFound("host not found: 'x.example'"),
    ]

    # when read / then the reason defaults per kind, and TLS and missing hosts are not retried
    assert [(e.reason, e.retryable) for e in errors] == [
        ("connection", True),
        ("timeout", True),
        ("certificate", False),
        ("tls", False),
        ("dns", False),
    ]
    assert all(isinstance(e, TransportError) and not isinstance(e, UnsafeURLError) for e in errors)


@pytest.mark.parametrize(
    ("kind", "reason"), [(TransportError, "nope"), (TLSError, "timeout"), (HostNotFound, "connection")]
)
def test_a_reason_outside_the_kind_is_a_programming_error(kind: type[TransportError], reason: str) -> None:
    # given a reason the kind does not have / when built / then ValueError names both
    with pytest.raises(ValueError) as caught:
        kind("x", reason=reason)
    assert str(caught.value) == f"{kind.__name__} cannot have the reason {reason!r}"


def test_transport_error_text_and_repr_never_hold_the_query() -> None:
    # given a TLS error on a URL with credentials and a token in the query
    error = TLSError(
        "TLS certificate does not match the host: Hostname mismatch",
        method="POST",
        url="https://u:secret@rs.example/t/quotes?token=SECRET",
        reason="hostname",
    )

    # when shown / then the message names the request without secrets, and repr adds the reason
    assert (
        str(error)
        == "TLS certificate does not match the host: Hostname mismatch (POST https://rs.example/t/quotes)"
    )
    assert repr(error) == (
        "TLSError('TLS certificate does not match the host: Hostname mismatch "
        "(POST https://rs.example/t/quotes)', reason='hostname')"
    )
    assert (error.method, error.url, error.detail) == (
        "POST",
        "https://rs.example/t/quotes",
        "TLS certificate does not match the host: Hostname mismatch",
    )


def test_for_request_names_the_request_and_keeps_the_kind() -> None:
    # given an error raised before its request was known / when tied to the request
    error = HostNotFound("host not found: 'gone.example'").for_request("GET", "https://gone.example/a?x=1")

    # then it is the same kind and reason, naming the request
    assert (type(error), error.reason, str(error)) == (
        HostNotFound,
        "dns",
        "host not found: 'gone.example' (GET https://gone.example/a)",
    )


def test_transport_errors_survive_pickling() -> None:
    # given a TLS error (as a worker pool sends it between processes) / when pickled and loaded
    error = TLSError("TLS handshake failed: x", method="GET", url="https://a.example/x", reason="tls")
    loaded = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    # then kind, reason, request and text are kept
    assert (type(loaded), loaded.reason, loaded.method, loaded.url, str(loaded)) == (
        TLSError,
        "tls",
        "GET",
        "https://a.example/x",
        "TLS handshake failed: x (GET https://a.example/x)",
    )


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
    assert (payments.TLSError, payments.HostNotFound) == (TLSError, HostNotFound)
