"""payments.safe_http through the client: SSRF refusals happen before any connection."""

from __future__ import annotations

import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from payments import (
    ClientConfig,
    OpenPaymentsClient,
    RedirectRefused,
    ResponseTooLarge,
    TransportError,
    UnsafeURLError,
    URLPolicy,
    deadline,
)
from payments.safe_http import parse_url
from payments.transport import GuardedTransport


class _NoNetwork(httpx.BaseTransport):
    """A transport that fails the test if anything reaches it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raise AssertionError(f"request was sent: {request.method} {request.url}")


def _unreachable_resolver(host: str, port: int) -> list[str]:
    raise AssertionError(f"DNS lookup attempted for {host}")


def _client(
    key: Ed25519PrivateKey, transport: httpx.BaseTransport | None = None, **options: object
) -> OpenPaymentsClient:
    http = httpx.Client(transport=transport) if transport is not None else None
    return OpenPaymentsClient(
        ClientConfig(
            wallet_address_url="https://platform.example/me",
            key_id="k1",
            private_key=key,
            http_client=http,
            **options,  # type: ignore[arg-type]
        )
    )


def _refusal(client: OpenPaymentsClient, url: str) -> str:
    with pytest.raises(UnsafeURLError) as caught:
        client.wallet_addresses.get(url)
    return str(caught.value)


def test_refuses_cloud_metadata_even_when_http_and_private_hosts_are_allowed(
    client_key: Ed25519PrivateKey,
) -> None:
    # given a client that would allow plain http to that host and private addresses, and no network
    network = _NoNetwork()
    client = _client(
        client_key,
        network,
        allowed_http_hosts=frozenset({"169.254.169.254"}),
        allow_private_hosts=True,
        resolver=_unreachable_resolver,
    )

    # when the metadata service is asked for
    message = _refusal(client, "http://169.254.169.254/latest/meta-data/iam")

    # then it is refused by address, and nothing was sent
    assert (
        message == "refused host '169.254.169.254': it resolves to a cloud metadata address 169.254.169.254"
    )
    assert network.requests == []


def test_refuses_plain_http_by_default(client_key: Ed25519PrivateKey) -> None:
    # given a default client / when an http wallet is asked for / then the scheme is refused, nothing sent
    network = _NoNetwork()
    message = _refusal(
        _client(client_key, network, resolver=_unreachable_resolver), "http://169.254.169.254/latest/"
    )
    assert (
        message == "refused http://169.254.169.254/latest/: plain http is only allowed for configured hosts"
    )
    assert network.requests == []


def test_refuses_a_private_address(client_key: Ed25519PrivateKey) -> None:
    # given plain http allowed for 10.0.0.1 but private hosts not allowed
    network = _NoNetwork()
    client = _client(
        client_key, network, allowed_http_hosts=frozenset({"10.0.0.1"}), resolver=_unreachable_resolver
    )

    # when that address is asked for
    message = _refusal(client, "http://10.0.0.1/alice")

    # then it is refused before sending
    assert message == "refused host '10.0.0.1': it resolves to a private address 10.0.0.1"
    assert network.requests == []


@pytest.mark.parametrize(
    ("addresses", "problem"),
    [
        (["127.0.0.1"], "a loopback address 127.0.0.1"),
        (["93.184.215.14", "192.168.1.5"], "a private address 192.168.1.5"),
        (["::ffff:10.1.2.3"], "a private address ::ffff:a01:203"),
        (["fe80::1"], "a link-local address fe80::1"),
        (["100.64.0.1"], "a non-public address 100.64.0.1"),
    ],
)
def test_refuses_a_name_that_resolves_to_any_non_public_address(
    client_key: Ed25519PrivateKey, addresses: list[str], problem: str
) -> None:
    # given a wallet host whose DNS answer includes a non-public address
    network = _NoNetwork()
    client = _client(client_key, network, resolver=lambda host, port: addresses)

    # when it is asked for / then it is refused, naming the address, and nothing was sent
    assert (
        _refusal(client, "$wallet.example/alice")
        == f"refused host 'wallet.example': it resolves to {problem}"
    )
    assert network.requests == []


def test_guarded_transport_checks_again_at_connect_time() -> None:
    # given a transport whose resolver now answers a private address (DNS rebinding after the check)
    policy = URLPolicy(resolver=lambda host, port: ["10.9.8.7"])

    # when a request is sent straight through it
    with httpx.Client(transport=GuardedTransport(policy)) as http, pytest.raises(UnsafeURLError) as caught:
        http.get("https://rebind.example/alice")

    # then the connection is refused before any socket is opened
    assert str(caught.value) == "refused host 'rebind.example': it resolves to a private address 10.9.8.7"


def _loopback_client(key: Ed25519PrivateKey, **options: object) -> OpenPaymentsClient:
    # Loopback is explicitly allowed for these tests only; the default guarded transport is used.
    return _client(key, allowed_http_hosts=frozenset({"127.0.0.1"}), allow_private_hosts=True, **options)


def test_fetches_a_wallet_from_an_allowed_loopback_server(
    client_key: Ed25519PrivateKey, local_server: str
) -> None:
    # given loopback explicitly allowed / when the wallet is fetched / then it parses
    with _loopback_client(client_key) as client:
        wallet = client.wallet_addresses.get(f"{local_server}/alice")
    assert (wallet.id, wallet.asset_code, wallet.asset_scale) == (f"{local_server}/alice", "EUR", 2)


def test_does_not_follow_a_redirect(client_key: Ed25519PrivateKey, local_server: str) -> None:
    # given a server that answers 302 / when fetched / then the redirect is refused, naming where it came from
    with _loopback_client(client_key) as client, pytest.raises(RedirectRefused) as caught:
        client.wallet_addresses.get(f"{local_server}/redirect")
    assert str(caught.value) == f"refused to follow a 302 redirect from GET {local_server}/redirect"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/big-declared",
            "response from GET {o}/big-declared declares 10485760 bytes, over the 1000000 limit",
        ),
        ("/big-streamed", "response from GET {o}/big-streamed is over the 1000000-byte limit"),
    ],
)
def test_stops_reading_a_10_mb_response(
    client_key: Ed25519PrivateKey, local_server: str, path: str, message: str
) -> None:
    # given a server sending 10 MB, with and without Content-Length, and a 1 MB cap
    with (
        _loopback_client(client_key, max_response_bytes=1_000_000) as client,
        pytest.raises(ResponseTooLarge) as caught,
    ):
        # when the body is read
        client.wallet_addresses.get(local_server + path)

    # then reading stops with a clear error
    assert str(caught.value) == message.format(o=local_server)


def test_times_out(client_key: Ed25519PrivateKey, local_server: str) -> None:
    # given a server answering after 2 s and a 0.3 s timeout / when fetched / then a retryable TransportError
    with _loopback_client(client_key, timeout=0.3) as client, pytest.raises(TransportError) as caught:
        client.wallet_addresses.get(f"{local_server}/slow")
    assert str(caught.value) == f"timed out (ReadTimeout) (GET {local_server}/slow)"
    assert caught.value.retryable is True


def test_a_call_ends_at_its_deadline_however_slowly_the_answer_trickles(
    client_key: Ed25519PrivateKey, local_server: str
) -> None:
    # given a server sending a byte every 0.2 s for a minute, a 1 s read timeout and a 1 s deadline
    started = time.monotonic()
    with (
        _loopback_client(client_key, timeout=1.0, deadline=1.0) as client,
        pytest.raises(TransportError) as caught,
    ):
        # when the wallet is fetched
        client.wallet_addresses.get(f"{local_server}/trickle")

    # then the call fails as a timeout once the deadline passes, long before the answer would end
    assert str(caught.value) == f"timed out (ReadTimeout) (GET {local_server}/trickle)"
    assert time.monotonic() - started < 10


def test_an_enclosing_deadline_shortens_the_configured_one(
    client_key: Ed25519PrivateKey, local_server: str
) -> None:
    # given a client whose calls may take 30 s, and a server answering after 2 s
    with (
        _loopback_client(client_key, deadline=30.0) as client,
        pytest.raises(TransportError) as caught,
        deadline(0.3),  # when a call is made inside a 0.3 s deadline
    ):
        client.wallet_addresses.get(f"{local_server}/slow")

    # then the tighter deadline wins
    assert str(caught.value) == f"timed out (ReadTimeout) (GET {local_server}/slow)"


def test_private_hosts_exempts_only_the_named_hosts(client_key: Ed25519PrivateKey, local_server: str) -> None:
    # given loopback allowed for the local wallet's host only
    with _client(
        client_key,
        allowed_http_hosts=frozenset({"127.0.0.1", "10.0.0.1"}),
        private_hosts=frozenset({"127.0.0.1"}),
    ) as client:
        # when the local wallet is fetched / then it answers
        wallet = client.wallet_addresses.get(f"{local_server}/alice")
        assert wallet.id == f"{local_server}/alice"

        # when another private host is asked for / then it is refused before sending
        assert _refusal(client, "http://10.0.0.1/alice") == (
            "refused host '10.0.0.1': it resolves to a private address 10.0.0.1"
        )


def test_a_url_is_parsed_once_but_its_host_is_checked_on_every_request(client_key: Ed25519PrivateKey) -> None:
    # given a wallet host that resolves to a public address, then to a private one
    answers = [["93.184.215.14"], ["10.0.0.7"]]
    network = _NoNetwork()
    client = _client(client_key, network, resolver=lambda host, port: answers.pop(0))

    # when it is asked for twice
    with pytest.raises(AssertionError, match="request was sent"):
        client.wallet_addresses.get("https://rebinding.example/alice")
    message = _refusal(client, "https://rebinding.example/alice")

    # then the first went out, the second was refused by the same check, not by a remembered verdict
    assert [str(request.url) for request in network.requests] == ["https://rebinding.example/alice"]
    assert message == "refused host 'rebinding.example': it resolves to a private address 10.0.0.7"


def test_parsing_a_url_is_remembered_and_a_bad_one_is_refused_each_time() -> None:
    # given / when the same text is parsed twice, and a text that is no URL
    first, second = parse_url("https://wallet.example/alice"), parse_url("https://wallet.example/alice")

    # then the second is the first (httpx URLs never change), and the bad one is refused both times
    assert first is second
    assert (first.host, first.path) == ("wallet.example", "/alice")
    for _ in range(2):
        with pytest.raises(UnsafeURLError, match="not a valid URL"):
            parse_url("https://[zz]/alice")
