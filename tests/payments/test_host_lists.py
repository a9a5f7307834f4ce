"""The plain-http and private-address host lists: `host` or `host:port` entries, independent of each other."""

from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from payments import ClientConfig, UnsafeURLError, URLPolicy
from payments.safe_http import HostList
from payments.transport import GuardedTransport


def _no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"DNS lookup attempted for {host}")


def _refusal(policy: URLPolicy, url: str) -> str:
    with pytest.raises(UnsafeURLError) as caught:
        policy.check_url(url)
    return str(caught.value)


def test_a_private_host_with_a_port_allows_that_port_only() -> None:
    # given 127.0.0.1 allowed to be private on port 8443 only, and plain http allowed for no host
    policy = URLPolicy(private_hosts=frozenset({"127.0.0.1:8443"}), resolver=_no_dns)

    # when https on that port is checked / then it is allowed
    policy.check_url("https://127.0.0.1:8443/alice")

    # when another port, or plain http on the listed port, is checked / then each is refused
    assert _refusal(policy, "https://127.0.0.1:9443/alice") == (
        "refused host '127.0.0.1': it resolves to a loopback address 127.0.0.1"
    )
    assert _refusal(policy, "http://127.0.0.1:8443/alice") == (
        "refused http://127.0.0.1:8443/alice: plain http is only allowed for configured hosts"
    )


def test_plain_http_allowed_does_not_allow_a_private_address() -> None:
    # given plain http allowed for 127.0.0.1, but no private hosts
    policy = URLPolicy(allowed_http_hosts=frozenset({"127.0.0.1"}), resolver=_no_dns)

    # when a loopback http URL is checked / then the address is refused
    assert _refusal(policy, "http://127.0.0.1:4000/alice") == (
        "refused host '127.0.0.1': it resolves to a loopback address 127.0.0.1"
    )


def test_a_plain_http_host_with_a_port_allows_that_port_only() -> None:
    # given a local wallet host allowed over plain http on 4000 and private on any port
    policy = URLPolicy(
        allowed_http_hosts=frozenset({"wallet.local:4000"}),
        private_hosts=frozenset({"wallet.local"}),
        resolver=lambda host, port: ["10.1.2.3"],
    )

    # when port 4000 is checked / then it is allowed
    policy.check_url("http://wallet.local:4000/alice")

    # when another port or the default port is checked / then plain http is refused
    for url in ("http://wallet.local:4001/alice", "http://wallet.local/alice"):
        assert _refusal(policy, url) == f"refused {url}: plain http is only allowed for configured hosts"


def test_the_default_port_of_the_scheme_is_compared() -> None:
    # given entries naming the default ports
    policy = URLPolicy(
        allowed_http_hosts=frozenset({"wallet.local:80"}),
        private_hosts=frozenset({"wallet.local:80", "127.0.0.1:443"}),
        resolver=lambda host, port: ["10.1.2.3"],
    )

    # when URLs without a port are checked / then they are allowed
    policy.check_url("http://wallet.local/alice")
    policy.check_url("https://127.0.0.1/alice")

    # when the same hosts are asked for on other ports / then they are refused
    assert _refusal(policy, "https://wallet.local/alice") == (
        "refused host 'wallet.local': it resolves to a private address 10.1.2.3"
    )


def test_host_names_match_case_insensitively() -> None:
    # given entries in mixed case
    policy = URLPolicy(
        allowed_http_hosts=frozenset({"Wallet.LOCAL"}),
        private_hosts=frozenset({"WALLET.local:8080"}),
        resolver=lambda host, port: ["127.0.0.1"],
    )

    # when a lower-case URL is checked / then it matches both lists
    policy.check_url("http://wallet.local:8080/alice")


@pytest.mark.parametrize(
    ("entry", "allowed", "refused"),
    [
        ("[::1]:8443", "https://[::1]:8443/a", "https://[::1]:9443/a"),
        ("[::1]", "https://[::1]:9443/a", None),
        ("::1", "https://[::1]:9443/a", None),
        ("[0:0::1]", "https://[::1]/a", None),
        ("[FE80::1]:443", "https://[fe80::1]/a", "https://[fe80::1]:8443/a"),
    ],
)
def test_ipv6_literals_in_brackets_with_or_without_a_port(
    entry: str, allowed: str, refused: str | None
) -> None:
    # given an IPv6 entry in private_hosts
    policy = URLPolicy(private_hosts=frozenset({entry}), resolver=_no_dns)

    # when the listed address and port are checked / then they are allowed
    policy.check_url(allowed)

    # when another port is checked / then it is refused
    if refused is not None:
        assert _refusal(policy, refused).startswith(f"refused host '{httpx.URL(refused).host}'")


@pytest.mark.parametrize(
    "entry",
    [
        "host:notaport",
        "[::1",
        "",
        " ",
        "host:",
        ":8443",
        "host:0",
        "host:65536",
        "[127.0.0.1]",
        "[::1]:",
        "::zz",
        "a b",
        "http://wallet.example",
        "wallet.example/path",
        "user@wallet.example",
    ],
)
def test_a_malformed_entry_is_refused_when_the_policy_is_made(entry: str) -> None:
    # given a malformed entry in either list / when a policy is made / then ValueError names the entry
    with pytest.raises(ValueError) as caught:
        URLPolicy(private_hosts=frozenset({entry}))
    assert str(caught.value) == f"private_hosts entry {entry!r} is not a host or host:port"
    with pytest.raises(ValueError) as caught:
        URLPolicy(allowed_http_hosts=frozenset({"ok.example", entry}))
    assert str(caught.value) == f"allowed_http_hosts entry {entry!r} is not a host or host:port"


def test_a_malformed_entry_is_refused_when_the_config_is_made(client_key: Ed25519PrivateKey) -> None:
    # given a config with a malformed private host / when made / then ValueError names the entry
    with pytest.raises(ValueError) as caught:
        ClientConfig(
            wallet_address_url="https://platform.example/me",
            key_id="k1",
            private_key=client_key,
            private_hosts=frozenset({"wallet.local:http"}),
        )
    assert str(caught.value) == "private_hosts entry 'wallet.local:http' is not a host or host:port"


def test_host_list_matches_host_and_port() -> None:
    # given a list with a host on any port and a host on one port
    hosts = HostList(["any.example", "one.example:8443", "[::1]:4000"])

    # when matched / then the port counts only where one is listed
    assert [
        hosts.matches("any.example", 1),
        hosts.matches("one.example", 8443),
        hosts.matches("one.example", 443),
        hosts.matches("::1", 4000),
        hosts.matches("[::1]", 4000),
        hosts.matches("::1", 4001),
        hosts.matches("other.example", 8443),
    ] == [True, True, False, True, True, False, False]


def test_metadata_stays_refused_whatever_is_listed() -> None:
    # given the metadata address listed in both lists
    policy = URLPolicy(
        allowed_http_hosts=frozenset({"169.254.169.254:80"}),
        private_hosts=frozenset({"169.254.169.254:80"}),
        resolver=_no_dns,
    )

    # when it is checked / then it is refused
    assert _refusal(policy, "http://169.254.169.254/latest/meta-data") == (
        "refused host '169.254.169.254': it resolves to a cloud metadata address 169.254.169.254"
    )


def test_the_connect_time_check_honours_the_port(local_server: str) -> None:
    # given a guarded transport allowing the loopback test server's port only, used without the
    # pre-request check
    port = int(local_server.rsplit(":", 1)[1])
    policy = URLPolicy(private_hosts=frozenset({f"127.0.0.1:{port}"}))
    with httpx.Client(transport=GuardedTransport(policy)) as http:
        # when the listed port is fetched / then it connects
        assert http.get(f"{local_server}/alice").status_code == 200

        # when another port is fetched / then the connection is refused before any socket is opened
        with pytest.raises(UnsafeURLError) as caught:
            http.get(f"http://127.0.0.1:{port + 1}/alice")
    assert str(caught.value) == "refused host '127.0.0.1': it resolves to a loopback address 127.0.0.1"


def test_the_connect_time_check_matches_a_name_and_port() -> None:
    # given wallet.local allowed private on 8443 only, now resolving to loopback
    policy = URLPolicy(
        private_hosts=frozenset({"wallet.local:8443"}), resolver=lambda host, port: ["127.0.0.1"]
    )
    with httpx.Client(transport=GuardedTransport(policy)) as http, pytest.raises(UnsafeURLError) as caught:
        # when port 9443 is fetched straight through the transport
        http.get("https://wallet.local:9443/alice")

    # then the connect-time check refuses it
    assert str(caught.value) == "refused host 'wallet.local': it resolves to a loopback address 127.0.0.1"
