"""Who the client is behind a load balancer: the peer, or what a trusted proxy forwarded.

Every driving adapter that limits by client address (the API's gateway, the web UI's login,
the Socket.IO handshake) asks here, so one rule holds for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

Networks = tuple[IPv4Network | IPv6Network, ...]


def client_address(scope: Mapping[str, Any], trusted: Networks) -> str:
    """The peer, unless it is a trusted proxy: then the nearest address it forwarded that is
    not itself a trusted proxy (right to left in `X-Forwarded-For`, else `Forwarded: for=`).
    Anything unparsable stops the walk at the last trusted hop."""
    peer: str = (scope.get("client") or ("unknown", 0))[0]
    if not _is_trusted(peer, trusted):
        return peer
    headers = dict(scope.get("headers", ()))
    forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    if not hops:
        hops = _forwarded_for(headers.get(b"forwarded", b"").decode("latin-1"))
    address = peer
    for hop in reversed(hops):
        if not _is_address(hop):
            break
        address = hop
        if not _is_trusted(hop, trusted):
            break
    return address


def _forwarded_for(header: str) -> list[str]:
    """The `for=` addresses of RFC 7239's `Forwarded`, in order (`"[2001:db8::1]:4711"` too)."""
    found = []
    for element in header.split(","):
        for pair in element.split(";"):
            name, _, value = pair.strip().partition("=")
            if name.lower() == "for":
                value = value.strip('"')
                if value.startswith("["):
                    value = value[1 : value.find("]")]
                elif value.count(":") == 1:
                    value = value.split(":")[0]
                found.append(value)
    return found


def _is_address(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(text: str, trusted: Networks) -> bool:
    try:
        address = ip_address(text)
    except ValueError:
        return False
    return any(address in network for network in trusted)
