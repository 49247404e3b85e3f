"""IP addresses: which one a request really came from, and how it is made anonymous."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from typing import Literal

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Anonymisation = Literal["remove", "truncate"]


def parse_networks(specs: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(spec, strict=False) for spec in specs)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=4096)
def client_ip(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """The client's address: the direct peer, unless the peer is a trusted proxy, in which
    case the nearest address in X-Forwarded-For that is not itself a trusted proxy.
    Remembered for the last few thousand peers: every request and socket asks, two or three
    times (the access log, the guessing limits, the count of sockets per address), and
    Python's `ipaddress` parsing was about 3 % of a join storm's CPU."""
    address = _address(peer) if peer else None
    if address is None:
        return None
    if not forwarded_for or not any(address in net for net in trusted):
        return str(address)
    for hop in reversed(forwarded_for.split(",")):
        candidate = _address(hop)
        if candidate is None:
            return None  # a garbled chain: trust none of it
        if not any(candidate in net for net in trusted):
            return str(candidate)
        address = candidate
    return str(address)


def anonymise(value: str | None, mode: Anonymisation) -> str | None:
    """Irreversibly anonymise an address: remove it, or keep only its network (IPv4 /24,
    IPv6 /48). Never a hash: the IPv4 space is small enough to reverse any unkeyed hash."""
    if value is None or mode == "remove":
        return None
    address = _address(value)
    if address is None:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)
