"""Where a fetch may go: redirects (and article links) from a feed must not reach into our own network.

A feed's server, or a link in its items, could point us at a router's admin page, a database on
localhost or the cloud metadata service that hands out credentials. The decision is made on the
resolved addresses, before connecting: private and loopback addresses only when the configured feed
itself is on such an address (an operator who configures a local feed means it); link-local,
metadata, multicast and reserved addresses never.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from enum import Enum

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: someone's internal network


class Reach(Enum):
    PUBLIC = "public"
    LOCAL = "local"
    FORBIDDEN = "forbidden"


def reach(address: Address) -> Reach:
    """What kind of place an address is, for the redirect policy."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return Reach.LOCAL  # before is_reserved, which ::1 also is
    if (
        address in _METADATA
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    ):
        return Reach.FORBIDDEN
    if address.is_private or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED):
        return Reach.LOCAL
    return Reach.PUBLIC


def refusal(origin: Sequence[Address], target: Sequence[Address]) -> str | None:
    """Why a fetch for a feed at `origin` may not go to `target` (both resolved), or None when it may."""
    local_origin = any(reach(a) is Reach.LOCAL for a in origin)
    for address in target:
        kind = reach(address)
        if kind is Reach.FORBIDDEN:
            return f"refused to go to {address}: a link-local, metadata or reserved address"
        if kind is Reach.LOCAL and not local_origin:
            return f"refused to go to {address}: a private or loopback address, and the feed is not on one"
    return None


async def resolve(host: str, port: int) -> list[Address]:
    """The addresses a host name stands for (an address literal stands for itself); [] when it resolves to none."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
