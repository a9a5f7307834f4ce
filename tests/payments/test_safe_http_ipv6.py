"""payments.safe_http: IPv6 addresses that carry an IPv4 address are judged by the address inside too."""

from __future__ import annotations

import httpx
import pytest

from payments import UnsafeURLError, URLPolicy
from payments.transport import GuardedTransport

# (IPv6 address, the IPv4 address inside it, how the policy names what is inside)
EMBEDDED_NON_PUBLIC = [
    # IPv4-compatible, ::/96 (deprecated)
    ("::7f00:1", "127.0.0.1", "a loopback"),
    ("::a00:1", "10.0.0.1", "a private"),
    ("::a9fe:a9fe", "169.254.169.254", "a cloud metadata"),
    # IPv4-translated, ::ffff:0:0:0/96
    ("::ffff:0:7f00:1", "127.0.0.1", "a loopback"),
    ("::ffff:0:a9fe:a9fe", "169.254.169.254", "a cloud metadata"),
    # NAT64 well-known prefix, 64:ff9b::/96
    ("64:ff9b::7f00:1", "127.0.0.1", "a loopback"),
    ("64:ff9b::c0a8:105", "192.168.1.5", "a private"),
    ("64:ff9b::a9fe:a9fe", "169.254.169.254", "a cloud metadata"),
    ("64:ff9b::6464:c8", "100.100.0.200", "a non-public"),
    # NAT64 local-use prefix, 64:ff9b:1::/48
    ("64:ff9b:1::7f00:1", "127.0.0.1", "a loopback"),
    ("64:ff9b:1::a9fe:a9fe", "169.254.169.254", "a cloud metadata"),
    # 6to4, 2002::/16: the IPv4 address is bits 16-48
    ("2002:7f00:1::", "127.0.0.1", "a loopback"),
    ("2002:a00:1:5::1", "10.0.0.1", "a private"),
    ("2002:a9fe:a9fe::1", "169.254.169.254", "a cloud metadata"),
    # Teredo, 2001::/32: server 65.54.227.120 in bits 32-64, client in the last 32 bits XOR 0xffffffff
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1", "a loopback"),
    ("2001:0:4136:e378:8000:63bf:9bbf:fffe", "100.64.0.1", "a non-public"),
    ("2001:0:4136:e378:8000:63bf:5601:5601", "169.254.169.254", "a cloud metadata"),
    # Teredo with a public client (8.8.8.8) behind a loopback or metadata server
    ("2001:0:7f00:1:8000:63bf:f7f7:f7f7", "127.0.0.1", "a loopback"),
    ("2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7", "169.254.169.254", "a cloud metadata"),
]


def _policy_resolving_to(address: str, **options: object) -> URLPolicy:
    return URLPolicy(resolver=lambda host, port: [address], **options)  # type: ignore[arg-type]


def _refusal(policy: URLPolicy, url: str) -> str:
    with pytest.raises(UnsafeURLError) as caught:
        policy.check_url(url)
    return str(caught.value)


def _no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"DNS lookup attempted for {host}")


@pytest.mark.parametrize(("address", "inside", "problem"), EMBEDDED_NON_PUBLIC)
def test_refuses_a_literal_address_carrying_a_non_public_ipv4(
    address: str, inside: str, problem: str
) -> None:
    # given a URL whose host is that IPv6 literal, and no DNS
    policy = URLPolicy(resolver=_no_dns)

    # when it is checked / then it is refused with the words the plain IPv4 address gets
    assert _refusal(policy, f"https://[{address}]/alice") == (
        f"refused host '{address}': it resolves to {problem} address {address}"
    )
    assert _refusal(policy, f"https://{inside}/alice") == (
        f"refused host '{inside}': it resolves to {problem} address {inside}"
    )


@pytest.mark.parametrize(("address", "inside", "problem"), EMBEDDED_NON_PUBLIC)
def test_refuses_a_name_resolving_to_an_address_carrying_a_non_public_ipv4(
    address: str, inside: str, problem: str
) -> None:
    # given a wallet host that resolves to that IPv6 address
    policy = _policy_resolving_to(address)

    # when it is checked / then it is refused, naming the address it resolved to
    assert _refusal(policy, "https://wallet.example/alice") == (
        f"refused host 'wallet.example': it resolves to {problem} address {address}"
    )


@pytest.mark.parametrize(
    "address", [address for address, _, problem in EMBEDDED_NON_PUBLIC if problem == "a cloud metadata"]
)
def test_refuses_metadata_inside_any_form_even_when_private_hosts_are_allowed(address: str) -> None:
    # given a policy allowing every private address, and a host resolving to metadata wrapped in IPv6
    policy = _policy_resolving_to(address, allow_private_hosts=True)

    # when it is checked / then the metadata service is still refused
    assert _refusal(policy, "https://wallet.example/alice") == (
        f"refused host 'wallet.example': it resolves to a cloud metadata address {address}"
    )


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("::808:808", "an IPv4-compatible"),
        ("::ffff:0:808:808", "an IPv4-translated"),
        ("2002:808:808::1", "a 6to4"),
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "a Teredo"),
        ("64:ff9b:1::808:808", "a non-public"),
    ],
)
def test_refuses_tunnel_forms_even_with_a_public_ipv4_inside(address: str, kind: str) -> None:
    # given a host resolving to a transition address around the public 8.8.8.8
    policy = _policy_resolving_to(address)

    # when it is checked / then the form itself is refused
    assert _refusal(policy, "https://wallet.example/alice") == (
        f"refused host 'wallet.example': it resolves to {kind} address {address}"
    )


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "::ffff:808:808", "2606:4700::6810:84e5"])
def test_allows_nat64_and_mapped_forms_of_a_public_ipv4(address: str) -> None:
    # given a host resolving to the NAT64 or IPv4-mapped form of 8.8.8.8, or a plain global IPv6 address
    policy = _policy_resolving_to(address)

    # when its addresses are asked for / then they are allowed
    assert policy.safe_addresses("wallet.example", 443) == [address]


@pytest.mark.parametrize(
    "address", ["2002:7f00:1::", "64:ff9b::a00:1", "2001:0:4136:e378:8000:63bf:80ff:fffe"]
)
def test_a_host_listed_as_private_may_resolve_to_a_wrapped_private_ipv4(address: str) -> None:
    # given a local wallet host allowed to be private, resolving to a wrapped loopback or private address
    policy = _policy_resolving_to(address, private_hosts=frozenset({"wallet.local"}))

    # when its addresses are asked for / then they are allowed for that host only
    assert policy.safe_addresses("wallet.local", 443) == [address]
    assert _refusal(policy, "https://wallet.example/alice").startswith("refused host 'wallet.example'")


@pytest.mark.parametrize(("address", "problem"), [("::1", "a loopback"), ("::", "a private")])
def test_loopback_and_unspecified_are_not_read_as_ipv4_compatible(address: str, problem: str) -> None:
    # given the IPv6 loopback and unspecified addresses (inside ::/96 but not IPv4-compatible)
    policy = _policy_resolving_to(address)

    # when checked / then they are named as themselves
    assert _refusal(policy, "https://wallet.example/alice") == (
        f"refused host 'wallet.example': it resolves to {problem} address {address}"
    )


def test_guarded_transport_refuses_a_wrapped_loopback_at_connect_time() -> None:
    # given a transport whose resolver answers a 6to4 address around 127.0.0.1
    policy = _policy_resolving_to("2002:7f00:1::")

    # when a request is sent straight through it
    with httpx.Client(transport=GuardedTransport(policy)) as http, pytest.raises(UnsafeURLError) as caught:
        http.get("https://rebind.example/alice")

    # then the connection is refused before any socket is opened
    assert (
        str(caught.value) == "refused host 'rebind.example': it resolves to a loopback address 2002:7f00:1::"
    )
