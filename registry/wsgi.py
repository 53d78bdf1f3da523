"""What happens to a request before Flask reads it: the caller's address behind a reverse proxy, and
the body limit for bodies sent without a length.

`X-Forwarded-For` is a header anyone can send, so it is believed only from the proxies named in
REGISTRY_TRUSTED_PROXIES: when the connection comes from one of them, the caller is the last
address in the header that is not itself a trusted proxy (read from the right, as each proxy
appends the address it received the request from). Rate limits and the audit log then see the
caller, not the proxy. Nothing else of the request's forwarded headers is used: URLs the registry
writes come from REGISTRY_PUBLIC_URL, never from `Host` or `X-Forwarded-Host`.
"""

from __future__ import annotations

import io
import ipaddress
from contextlib import suppress

import orjson

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


class BodyLimit:
    """WSGI middleware holding a body sent without Content-Length (chunked) to `max_bytes`.

    Werkzeug cuts such a body at the limit without a word, so the application would read a truncated
    body (a JSON document cut short, a form without its last fields) and answer as if the client had
    sent that. Here the body is read up to one byte past the limit first: over it, the answer is a 413
    problem and the application never runs; within it, the application reads it with its length."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def __call__(self, environ, start_response):
        if environ.get("CONTENT_LENGTH") or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(self.max_bytes + 1)
        if len(body) > self.max_bytes:
            problem = orjson.dumps({"type": "about:blank", "title": "Request Entity Too Large", "status": 413,
                                    "detail": f"The body is larger than {self.max_bytes} bytes."})
            start_response("413 Request Entity Too Large", [("Content-Type", "application/problem+json"),
                                                             ("Content-Length", str(len(problem))),
                                                             ("Connection", "close")])
            return [problem]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        return self.app(environ, start_response)
