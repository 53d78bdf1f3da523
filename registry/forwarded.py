"""The caller's address behind a reverse proxy.

`X-Forwarded-For` is a header anyone can send, so it is believed only from the proxies named in
REGISTRY_TRUSTED_PROXIES: when the connection comes from one of them, the caller is the last
address in the header that is not itself a trusted proxy (read from the right, as each proxy
appends the address it received the request from). Rate limits and the audit log then see the
caller, not the proxy. Nothing else of the request's forwarded headers is used: URLs the registry
writes come from REGISTRY_PUBLIC_URL, never from `Host` or `X-Forwarded-Host`.
"""

from __future__ import annotations

import ipaddress
from contextlib import suppress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(setting: str) -> list[Network]:
    """Comma-separated addresses or CIDR networks; ValueError names the first that is neither."""
    networks = []
    for item in filter(None, (part.strip() for part in setting.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
    return networks


class TrustedProxies:
    """WSGI middleware setting REMOTE_ADDR to the caller's address when a trusted proxy forwarded the request."""

    def __init__(self, app, networks: list[Network]):
        self.app = app
        self.networks = networks

    def trusted(self, address: str) -> bool:
        try:
            parsed = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(parsed in network for network in self.networks)

    def __call__(self, environ, start_response):
        remote = environ.get("REMOTE_ADDR", "")
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        if forwarded and self.networks and self.trusted(remote):
            for hop in reversed([part.strip() for part in forwarded.split(",")]):
                if not self.trusted(hop):
                    # Garbage from beyond the first trusted proxy: keep the proxy's address.
                    with suppress(ValueError):
                        environ["REMOTE_ADDR"] = str(ipaddress.ip_address(hop))
                    break
        return self.app(environ, start_response)
