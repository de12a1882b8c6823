"""Who a request comes from, as rate limits count: one key per reader's network, not per address.

An IPv4 address is one key. An IPv6 host usually owns a whole /64 (2^64 addresses), so keying on
the full address would let one machine out-run every limit: IPv6 is keyed by its network prefix
(RATELIMIT_IPV6_PREFIX, 64 by default). X-Forwarded-For is believed only from our own proxies
(TRUSTED_PROXY_COUNT, applied by ProxyFix before this runs).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from flask import current_app, request


def client_key() -> str:
    return network_of(request.remote_addr or "", current_app.config["RATELIMIT_IPV6_PREFIX"])


@lru_cache(maxsize=4096)
def network_of(address: str, ipv6_prefix: int) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{ipv6_prefix}", strict=False))
    return str(ip)
