"""SSRF guard for outbound webhook URLs.

Webhook targets are user-supplied, so without this check a tenant could make the
service talk to loopback admin ports, the cloud metadata endpoint or the private
network. The guard resolves the host once and hands back the vetted addresses so the
sender can connect to exactly those (pinning) instead of resolving again and opening a
DNS-rebinding window.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

from app.errors import FieldError, ValidationFailed

Resolver = Callable[[str, int], Awaitable[list[str]]]

_DEFAULT_PORTS = {"https": 443, "http": 80}
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal")
# Hosts are restricted to plain ASCII labels: Unicode forms get IDNA-normalised
# differently by different stacks (e.g. full-width dots turning into "127.0.0.1").
_HOST_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*$")
# WHATWG "ends in a number": such hosts are IPv4 in some shape (inet_aton accepts
# 2130706433, 0177.0.0.1, 0x7f.1, 127.1, ...), and stacks disagree on how to read them.
_NUMERIC_LABEL_RE = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")

# Spelled out rather than trusting ip.is_global alone: its tables differ between
# Python releases (3.11 calls 224.0.0.1 and 192.0.0.9 "global").
_BLOCKED_V4 = tuple(
    IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
)  # fmt: skip
_BLOCKED_V6 = tuple(
    IPv6Network(n)
    for n in ("::/96", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10",
              "fec0::/10", "ff00::/8")
)  # fmt: skip
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))
_V4_COMPAT = IPv6Network("::/96")


class UnsafeUrl(ValidationFailed):
    """A refused target; as a ValidationFailed the web layer renders it as a 422 on ``field``."""

    def __init__(self, reason: str, field: str = "url") -> None:
        super().__init__(detail=f"{field}: {reason}", errors=[FieldError(("body", field), reason)])
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class CheckedTarget:
    """A vetted URL; connect to ``addresses[0]`` but keep ``host`` for Host/SNI."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _v4_is_public(ip: IPv4Address) -> bool:
    if any(ip in net for net in _BLOCKED_V4):
        return False
    return not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified
    ) and ip.is_global  # fmt: skip


def is_public_address(ip: IPv4Address | IPv6Address) -> bool:
    """Decide whether an outbound connection to ``ip`` may leave the private perimeter.

    IPv6 forms that carry an IPv4 destination are judged by that IPv4 address, since
    that is where the packets end up: IPv4-mapped and NAT64 (DNS64 synthesises these
    for public hosts on IPv6-only networks) by the embedded address alone; 6to4,
    Teredo and IPv4-compatible additionally have to pass the IPv6 rules, which refuse
    Teredo and IPv4-compatible outright.
    """
    if isinstance(ip, IPv4Address):
        return _v4_is_public(ip)
    ip = IPv6Address(int(ip))  # drop any %scope so comparisons are plain
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return _v4_is_public(ip.ipv4_mapped)
    if any(ip in net for net in _NAT64):
        return _v4_is_public(low32)
    embedded: list[IPv4Address] = []
    if ip in _V4_COMPAT:  # IPv4-compatible ::a.b.c.d
        embedded.append(low32)
    if ip.sixtofour is not None:
        embedded.append(ip.sixtofour)
    if ip.teredo is not None:
        embedded.extend(ip.teredo)
    if not all(_v4_is_public(v4) for v4 in embedded):
        return False
    if any(ip in net for net in _BLOCKED_V6):
        return False
    return not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified or ip.is_site_local
    ) and ip.is_global  # fmt: skip


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve via the OS so the answer matches what a normal client would get."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"could not resolve host {host!r}") from exc
    families = (socket.AF_INET, socket.AF_INET6)
    return list(dict.fromkeys(str(info[4][0]) for info in infos if info[0] in families))


def _parse_ip(text: str) -> IPv4Address | IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError as exc:
        raise UnsafeUrl(f"invalid IP address {text!r}") from exc


async def check_url(
    url: str, *, allow_private: bool, allow_http: bool, resolver: Resolver = system_resolver
) -> CheckedTarget:
    """Vet ``url`` and return the addresses the sender must pin its connection to.

    Called at registration time for early feedback and again right before each send,
    because DNS answers can change in between.
    """
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        # urllib silently drops some of these; other parsers do not.
        raise UnsafeUrl("URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_http else ("https",)
    if scheme not in allowed:
        raise UnsafeUrl(f"scheme must be one of {', '.join(allowed)}")
    if "@" in parts.netloc:
        raise UnsafeUrl("credentials in the URL are not allowed")
    host = (parts.hostname or "").lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise UnsafeUrl("URL has no host")
    if port is None:
        port = _DEFAULT_PORTS[scheme]
    if port == 0:
        raise UnsafeUrl("port 0 is not allowed")

    literal: IPv4Address | IPv6Address | None = None
    if ":" in host or parts.netloc.startswith("["):
        if "%" in host:
            raise UnsafeUrl("IPv6 zone identifiers are not allowed")
        literal = _parse_ip(host)
    else:
        if not host.isascii():
            raise UnsafeUrl(f"non-ASCII host {host!r}: use the xn-- (punycode) form")
        if len(host) > 253 or not _HOST_RE.match(host):
            raise UnsafeUrl(f"invalid host name {host!r}")
        if _NUMERIC_LABEL_RE.match(host.rsplit(".", 1)[-1]):
            try:
                literal = IPv4Address(host)  # only canonical dotted-quads get through
            except ValueError as exc:
                raise UnsafeUrl(f"ambiguous numeric host {host!r}") from exc

    if literal is not None:
        ips = [literal]
    else:
        if not allow_private and (host == "localhost" or host.endswith(_LOCAL_SUFFIXES)):
            raise UnsafeUrl(f"host {host!r} is a local name")
        try:
            answers = await resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrl(f"could not resolve host {host!r}") from exc
        ips = [_parse_ip(a) for a in answers]
        if not ips:
            raise UnsafeUrl(f"host {host!r} did not resolve to any address")
    if not allow_private:
        for ip in ips:
            if not is_public_address(ip):
                raise UnsafeUrl(f"host {host!r} resolves to non-public address {ip}")
    addresses = tuple(dict.fromkeys(str(ip) for ip in ips))
    return CheckedTarget(url=url, scheme=scheme, host=host, port=port, addresses=addresses)
