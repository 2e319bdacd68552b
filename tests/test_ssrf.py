"""Tests for the SSRF guard. No network and no real DNS: every resolver is a fake."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import ValidationFailed
from app.services.platform.ssrf import (
    CheckedTarget,
    Resolver,
    UnsafeUrl,
    check_url,
    is_public_address,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V4_B = "1.1.1.1"
PUBLIC_V6 = "2606:4700:4700::1111"


def fixed(*addresses: str) -> Resolver:
    """A fake resolver returning ``addresses`` and recording the lookups made."""
    calls: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return list(addresses)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


async def must_not_resolve(host: str, port: int) -> list[str]:
    raise AssertionError(f"IP literal {host}:{port} must not be resolved")


def teredo(server: str, client: str) -> str:
    """Build a Teredo address (2001::/32) the way RFC 4380 lays it out."""
    value = (0x2001_0000 << 96) | (int(IPv4Address(server)) << 64) | (0x8000_63BF << 32)
    return str(IPv6Address(value | (int(IPv4Address(client)) ^ 0xFFFFFFFF)))


async def check(url: str, resolver: Resolver = must_not_resolve, **kw: bool) -> CheckedTarget:
    return await check_url(
        url,
        allow_private=kw.get("allow_private", False),
        allow_http=kw.get("allow_http", False),
        resolver=resolver,
    )


FORBIDDEN_ADDRESSES = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "224.0.0.1",
    "0.0.0.0",
    "0.1.2.3",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.0.9",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "::8.8.8.8",  # IPv4-compatible form is deprecated: refused whatever it embeds
    "2002:7f00:0001::",
    "2002:0a00:0001::1",
    "64:ff9b::10.0.0.1",
    "64:ff9b::127.0.0.1",
    "64:ff9b:1::192.168.0.1",
    teredo("65.54.227.120", "10.0.0.1"),
    teredo("10.0.0.1", PUBLIC_V4),
]


@pytest.mark.parametrize("address", FORBIDDEN_ADDRESSES)
def test_is_public_address_refuses(address: str) -> None:
    assert not is_public_address(ip_address(address))


@pytest.mark.parametrize(
    "address",
    [PUBLIC_V4, PUBLIC_V4_B, PUBLIC_V6, "::ffff:1.1.1.1", "64:ff9b::1.1.1.1", "2002:0101:0101::"],
)
def test_is_public_address_accepts(address: str) -> None:
    assert is_public_address(ip_address(address))


@pytest.mark.parametrize("address", FORBIDDEN_ADDRESSES)
async def test_literal_forbidden_address_refused(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeUrl) as info:
        await check(f"https://{host}/hook")
    assert info.value.field == "url"
    assert isinstance(info.value, ValidationFailed)
    assert info.value.status == 422
    assert [e.loc for e in info.value.errors] == [("body", "url")]


@pytest.mark.parametrize("address", FORBIDDEN_ADDRESSES)
async def test_hostname_resolving_to_forbidden_address_refused(address: str) -> None:
    with pytest.raises(UnsafeUrl, match="non-public"):
        await check("https://hooks.example.com/x", fixed(address))


@pytest.mark.parametrize(
    "host",
    ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "127.0.1", "010.0.0.1"],
)
async def test_odd_numeric_ipv4_forms_refused(host: str) -> None:
    with pytest.raises(UnsafeUrl, match="ambiguous numeric host"):
        await check(f"https://{host}/", fixed(PUBLIC_V4), allow_private=True)


async def test_mixed_public_and_private_resolution_refused() -> None:
    with pytest.raises(UnsafeUrl, match=r"10\.0\.0\.5"):
        await check("https://hooks.example.com/", fixed(PUBLIC_V4, "10.0.0.5"))


async def test_public_hostname_accepted_and_addresses_pinned() -> None:
    resolver = fixed(PUBLIC_V4, PUBLIC_V6, PUBLIC_V4)
    target = await check("https://Hooks.Example.COM./in?x=1", resolver)
    assert target == CheckedTarget(
        url="https://Hooks.Example.COM./in?x=1",
        scheme="https",
        host="hooks.example.com",
        port=443,
        addresses=(PUBLIC_V4, PUBLIC_V6),
    )
    assert resolver.calls == [("hooks.example.com", 443)]  # type: ignore[attr-defined]


async def test_public_literals_accepted_without_resolving() -> None:
    assert (await check(f"https://{PUBLIC_V4_B}:8443/")).addresses == (PUBLIC_V4_B,)
    target = await check(f"https://[{PUBLIC_V6}]/")
    assert (target.host, target.port, target.addresses) == (PUBLIC_V6, 443, (PUBLIC_V6,))


async def test_http_refused_unless_allowed() -> None:
    with pytest.raises(UnsafeUrl, match="scheme"):
        await check("http://hooks.example.com/", fixed(PUBLIC_V4))
    target = await check("http://hooks.example.com/", fixed(PUBLIC_V4), allow_http=True)
    assert (target.scheme, target.port) == ("http", 80)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "//x/"])
async def test_other_schemes_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl, match="scheme"):
        await check(url, fixed(PUBLIC_V4), allow_http=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@hooks.example.com/",
        "https://user@hooks.example.com/",
        "https://hooks.example.com@127.0.0.1/",
        "https://:@hooks.example.com/",
    ],
)
async def test_userinfo_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl, match="credentials"):
        await check(url, fixed(PUBLIC_V4), allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "https:///path",
        "https://:443/",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com:0/",
        "https://[::1/",
        "https://[not-an-ip]/",
        "https://hooks example.com/",
        "https://hooks.example.com/\n",
        "https://hooks\t.example.com/",
        "https://bücher.example/",
        "https://127\uff0e0\uff0e0\uff0e1/",  # full-width dots IDNA-normalise to 127.0.0.1
        "https://evil.com\\.127.0.0.1/",
        "https://hooks..example.com/",
        "https://hooks.example.com../",
        "https://[fe80::1%25eth0]/",
    ],
)
async def test_malformed_urls_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await check(url, fixed(PUBLIC_V4), allow_private=True)


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST.", "api.localhost", "printer.local", "db.internal"]
)
async def test_local_names_refused_before_resolving(host: str) -> None:
    with pytest.raises(UnsafeUrl, match="local name"):
        await check(f"https://{host}/", must_not_resolve)
    target = await check(f"https://{host}/", fixed("127.0.0.1"), allow_private=True)
    assert target.addresses == ("127.0.0.1",)


async def test_allow_private_permits_private_targets() -> None:
    assert (await check("https://127.0.0.1/", allow_private=True)).addresses == ("127.0.0.1",)
    assert (await check("https://[::1]:8080/", allow_private=True)).port == 8080
    target = await check("https://svc.example.com/", fixed("10.0.0.1", "::1"), allow_private=True)
    assert target.addresses == ("10.0.0.1", "::1")


async def test_resolver_failure_is_unsafe_url() -> None:
    async def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnsafeUrl, match="could not resolve host"):
        await check("https://nowhere.example.com/", failing)


async def test_empty_resolution_refused() -> None:
    with pytest.raises(UnsafeUrl, match="did not resolve"):
        await check("https://hooks.example.com/", fixed(), allow_private=True)


async def test_garbage_resolver_answer_refused() -> None:
    with pytest.raises(UnsafeUrl, match="invalid IP address"):
        await check("https://hooks.example.com/", fixed("not-an-ip"), allow_private=True)


async def test_dns_rebinding_caught_on_recheck() -> None:
    """Registration sees a public answer; the send-time re-check sees the rebind."""
    answers = iter([[PUBLIC_V4], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    first = await check("https://rebind.example.com/", rebinding)
    assert first.addresses == (PUBLIC_V4,)
    with pytest.raises(UnsafeUrl, match=r"127\.0\.0\.1"):
        await check("https://rebind.example.com/", rebinding)


async def test_system_resolver_failure_is_unsafe_url(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from app.services.platform import ssrf

    async def boom(self: object, *args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "no such host")

    loop_type = type(asyncio.get_running_loop())
    monkeypatch.setattr(loop_type, "getaddrinfo", boom)
    with pytest.raises(UnsafeUrl, match="could not resolve host"):
        await ssrf.system_resolver("nowhere.example.com", 443)


async def test_system_resolver_returns_unique_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from app.services.platform import ssrf

    async def fake(self: object, host: str, port: int, **kwargs: object) -> object:
        v4 = (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_V4, port))
        v6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (PUBLIC_V6, port, 0, 0))
        return [v4, v6, v4]

    monkeypatch.setattr(type(asyncio.get_running_loop()), "getaddrinfo", fake)
    assert await ssrf.system_resolver("hooks.example.com", 443) == [PUBLIC_V4, PUBLIC_V6]


private_v4 = st.integers(int(IPv4Address("10.0.0.0")), int(IPv4Address("10.255.255.255"))).map(
    IPv4Address
)


@given(private_v4)
def test_property_10_slash_8_refused_in_every_wrapping(ip: IPv4Address) -> None:
    value = int(ip)
    wrapped: list[IPv4Address | IPv6Address] = [
        ip,
        IPv6Address((0xFFFF << 32) | value),  # IPv4-mapped
        IPv6Address(value),  # IPv4-compatible
        IPv6Address((0x2002 << 112) | (value << 80)),  # 6to4
        IPv6Address((0x0064_FF9B << 96) | value),  # NAT64 well-known prefix
    ]
    assert not any(is_public_address(w) for w in wrapped)


@given(st.integers(0, 2**32 - 1).map(IPv4Address))
def test_property_mapped_and_nat64_judged_like_the_embedded_ipv4(ip: IPv4Address) -> None:
    verdict = is_public_address(ip)
    assert is_public_address(IPv6Address((0xFFFF << 32) | int(ip))) == verdict
    assert is_public_address(IPv6Address((0x0064_FF9B << 96) | int(ip))) == verdict
