"""Every HTTP request the registry makes to another machine: peers, their key sets, later webhooks.

The URLs come from configuration, from peers' metadata and from clients, so a URL is treated as a request to
reach into our own network on someone else's behalf (server-side request forgery). The rules:

- Only http and https; no credentials in the URL (they would end up in logs and errors); fragments are dropped.
- The host is resolved once and every address it resolves to is checked; the connection goes to a checked
  address, so a name that resolves differently a moment later (DNS rebinding) cannot steer us elsewhere.
  Every address that is not globally reachable (private, shared, loopback, link-local, multicast, reserved,
  documentation and the like: the metadata service, the database, the admin port next door), also when an
  IPv6 address carries it (IPv4-mapped, 6to4, NAT64), is refused unless the allow-list names it. TLS is still verified
  against the name in the URL, and the Host header carries it.
- Redirects are not followed: a 3xx would lead to a URL nobody checked, so it is an error.
- Responses are bounded in size and in time, so a slow or endless peer cannot hold a worker or its memory.
"""

from __future__ import annotations

import email.utils
import ipaddress
import math
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPException
from typing import NamedTuple
from urllib.parse import urlsplit

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.response import HTTPResponse
from urllib3.util.ssl_match_hostname import CertificateError

CHUNK = 64 * 1024
ERROR_BODY_LIMIT = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
# Space and control characters: http.client would reject them late, or a server might split the request on them.
UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f]")

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Every range that is not globally reachable, from IANA's special-purpose address registries, with the
# name a refusal gives it; most specific first. Python's own `is_global` misses several of them
# (shared address space included, in some versions), so the table is written out here.
NOT_GLOBAL: list[tuple[str, str]] = [
    ("0.0.0.0/32", "an unspecified"),
    ("0.0.0.0/8", "a this-network"),
    ("10.0.0.0/8", "a private"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT)"),
    ("127.0.0.0/8", "a loopback"),
    ("169.254.0.0/16", "a link-local"),
    ("172.16.0.0/12", "a private"),
    ("192.0.0.0/24", "an IETF protocol"),
    ("192.0.2.0/24", "a documentation"),
    ("192.88.99.0/24", "a 6to4 relay"),
    ("192.168.0.0/16", "a private"),
    ("198.18.0.0/15", "a benchmarking"),
    ("198.51.100.0/24", "a documentation"),
    ("203.0.113.0/24", "a documentation"),
    ("224.0.0.0/4", "a multicast"),
    ("255.255.255.255/32", "a broadcast"),
    ("240.0.0.0/4", "a reserved"),
    ("::/128", "an unspecified"),
    ("::1/128", "a loopback"),
    ("64:ff9b:1::/48", "a local NAT64"),
    ("100::/64", "a discard-only"),
    ("2001::/23", "an IETF protocol"),
    ("2001:db8::/32", "a documentation"),
    ("3fff::/20", "a documentation"),
    ("5f00::/16", "a segment-routing"),
    ("fc00::/7", "a private (unique local)"),
    ("fe80::/10", "a link-local"),
    ("fec0::/10", "a site-local"),
    ("ff00::/8", "a multicast"),
]
_NOT_GLOBAL = [(ipaddress.ip_network(network), name) for network, name in NOT_GLOBAL]
# Global unicast IPv6 is 2000::/3; anything else (after unwrapping the forms below) reaches nothing public.
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _carried_ipv4(address: _Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches: IPv4-mapped (::ffff:a.b.c.d), 6to4 (2002:aabb:ccdd::),
    NAT64 (64:ff9b::a.b.c.d) or the deprecated IPv4-compatible form (::a.b.c.d)."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class OutboundError(Exception):
    """A request that could not be made or completed: refused URL, connection failure, timeout, reset,
    too large, redirect. `retry_after` (seconds or None) and `status` (int or None) when known;
    `transient` True for failures worth retrying (connection errors, timeouts, resets, 429, 5xx)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 transient: bool | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        if transient is None:
            transient = status is not None and (status == 429 or status >= 500)
        self.transient = transient


class RefusedURL(OutboundError):
    """The URL itself is not allowed: asking again will not change the answer."""

    def __init__(self, message: str):
        super().__init__(message, transient=False)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class _Target(NamedTuple):
    scheme: str
    host: str
    port: int
    addresses: list[str]
    path: str
    host_header: str


def _rule_broken(address: _Address) -> str | None:
    """Why `address` must not be contacted ("a loopback", "a shared (carrier-grade NAT)"...), or None
    for a globally reachable one. An IPv6 address that carries an IPv4 one is judged by both."""
    carried = _carried_ipv4(address)
    if carried is not None:
        rule = _rule_broken(carried)
        if rule is not None:
            return f"{rule} (inside {address})"
        if address.ipv4_mapped is not None:
            return None
    for network, name in _NOT_GLOBAL:
        if address.version == network.version and address in network:
            return name
    if address.version == 6 and carried is None and address not in _IPV6_GLOBAL_UNICAST:
        return "a reserved"
    return None


class _Watchdog:
    """Shuts the connection's socket down when the time is up. A socket timeout bounds each read, not their sum:
    a server sending a byte just often enough would otherwise hold the request for ever."""

    def __init__(self, connection: HTTPConnection, seconds: float):
        self.expired = False
        self._connection = connection
        self._socket = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def connected(self) -> None:
        # http.client drops connection.sock when the server says it will close, while the response still reads it.
        self._socket = self._connection.sock

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        self.expired = True
        # connection.sock is the plain socket while the TLS handshake runs, the one to cut before connected().
        for sock in (self._socket, self._connection.sock):
            if sock is not None:
                with suppress(OSError):
                    # The plain socket's shutdown: SSLSocket's own would tear its TLS state from under the reader.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Outbound:
    """Makes outbound requests under the rules above. `allow_hosts` admits otherwise refused destinations."""

    def __init__(self, allow_hosts: str = "", timeout: float = 30.0, user_agent: str = "contact-point-registry"):
        self.timeout = timeout
        self.user_agent = user_agent
        self._allowed_names: set[str] = set()
        self._allowed_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in filter(None, (part.strip() for part in allow_hosts.split(","))):
            try:
                self._allowed_networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self._allowed_names.add(item.lower().rstrip("."))

    def check_url(self, url: str) -> tuple[str, int, str]:
        """(host, port, first allowed address), or RefusedURL naming the rule the URL breaks."""
        target = self._target(url)
        return target.host, target.port, target.addresses[0]

    def request(self, method: str, url: str, *, headers: dict | None = None, body: bytes | None = None,
                max_bytes: int = 1 << 20) -> Response:
        """The whole response, 4xx and 5xx included (the caller decides what they mean). Raises OutboundError
        for a refused URL, a redirect, a body over `max_bytes`, or a request not done within `timeout`."""
        with self._exchange(method, url, headers, body, deadline=True) as (target, response, watchdog):
            with self._failures(target.host, watchdog):
                data = _read(response, max_bytes, target.host)
            if watchdog.expired:  # its shutdown looks like the end of a body that runs until the connection closes
                raise OutboundError(f"{target.host}: timed out after {self.timeout} s", transient=True)
            return Response(response.status, _headers(response), data)

    @contextmanager
    def stream_lines(self, url: str, *, headers: dict | None = None,
                     max_bytes: int) -> Iterator[tuple[Response, Iterator[bytes]]]:
        """GET `url` and yield (response without body, its lines without the newline). Snapshots take long, so
        only each read is bounded by `timeout`; the whole body is bounded by `max_bytes`. A non-2xx answer
        comes with its body (at most 64 KiB) and no lines."""
        with self._exchange("GET", url, headers, None, deadline=False) as (target, response, _):
            if not 200 <= response.status < 300:
                with self._failures(target.host):
                    data = _read(response, ERROR_BODY_LIMIT, target.host, truncate=True)
                yield Response(response.status, _headers(response), data), iter(())
                return
            yield Response(response.status, _headers(response), b""), self._lines(response, max_bytes, target.host)

    @staticmethod
    def retry_after(response_or_headers) -> float | None:
        """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent or garbage."""
        headers = getattr(response_or_headers, "headers", response_or_headers) or {}
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        if value is None:
            return None
        value = value.strip()
        if re.fullmatch(r"[0-9]+", value):
            seconds = float(value)
            return seconds if math.isfinite(seconds) else None
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": a time in UTC from a source that does not say so
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())

    def _target(self, url: str) -> _Target:
        if UNSAFE_CHARACTERS.search(url):
            raise RefusedURL("refused: spaces and control characters are not allowed in URLs")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise RefusedURL(f"refused: scheme {scheme or '(none)'!r} is not allowed, only http and https")
        if "@" in parts.netloc:
            raise RefusedURL("refused: credentials (userinfo) in URLs are not allowed")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise RefusedURL("refused: the URL has no host")
        try:
            port = DEFAULT_PORTS[scheme] if parts.port is None else parts.port
        except ValueError:
            port = 0
        if not port:
            raise RefusedURL("refused: the URL's port is not a valid port number")
        addresses = self._allowed_addresses(host, port)
        host_header = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            host_header += f":{parts.port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return _Target(scheme, host, port, addresses, path, host_header)

    def _allowed_addresses(self, host: str, port: int) -> list[str]:
        try:
            ipaddress.ip_address(host)
            found = [host]  # a literal: nothing to resolve, so nothing that can answer differently
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except UnicodeError:
                raise RefusedURL(f"refused: {host!r} is not a valid host name") from None
            except OSError as exc:
                raise OutboundError(f"{host}: cannot resolve ({exc})", transient=True) from None
            found = list(dict.fromkeys(info[4][0] for info in infos))
        if host.lower() in self._allowed_names:
            return found
        allowed, refusals = [], []
        for text in found:
            address = ipaddress.ip_address(text)
            rule = _rule_broken(address)
            if rule is None or self._allowed_network(address):
                allowed.append(text)
            else:
                refusals.append(f"{text} is {rule} address")
        if not allowed:
            shown = "" if refusals[0].startswith(host) else f"{host}: "
            raise RefusedURL(f"refused: {shown}{'; '.join(refusals)}, not in the outbound allow-list")
        return allowed

    def _allowed_network(self, address: _Address) -> bool:
        carried = _carried_ipv4(address)
        return any(address in network or (carried is not None and carried in network)
                   for network in self._allowed_networks)

    @contextmanager
    def _exchange(self, method: str, url: str, headers: dict | None, body: bytes | None, *, deadline: bool):
        """Yields (target, response with its headers read, watchdog) and closes the connection afterwards. The
        watchdog's deadline runs to the end of the exchange when `deadline`, else only until the headers are in."""
        target = self._target(url)
        sent = {"user-agent": self.user_agent} | {k.lower(): v for k, v in (headers or {}).items()}
        sent["host"] = target.host_header  # the name the server knows itself by, not the address we pinned
        connection, watchdog = self._connect(target)
        try:
            with self._failures(target.host, watchdog):
                connection.request(method, target.path, body=body, headers=sent, preload_content=False,
                                   decode_content=False)  # no decoding: a small gzip body can inflate past any bound
                response = connection.getresponse()
            if not deadline:
                watchdog.cancel()
            if 300 <= response.status < 400:
                location = response.headers.get("location", "")
                raise OutboundError(f"{target.host}: answered {response.status}, redirect not followed"
                                    f"{f' (to {location})' if location else ''}", status=response.status,
                                    transient=False)
            yield target, response, watchdog
        finally:
            watchdog.cancel()
            connection.close()

    def _connect(self, target: _Target) -> tuple[HTTPConnection, _Watchdog]:
        ends = time.monotonic() + self.timeout
        failure = OutboundError(f"{target.host}: timed out after {self.timeout} s", transient=True)
        # A name may resolve to several addresses, not all reachable (IPv6 without a route): try each in turn.
        for address in target.addresses:
            remaining = ends - time.monotonic()
            if remaining <= 0:
                break
            if target.scheme == "https":
                connection = HTTPSConnection(address, target.port, timeout=remaining, server_hostname=target.host,
                                             assert_hostname=target.host)
            else:
                connection = HTTPConnection(address, target.port, timeout=remaining)
            watchdog = _Watchdog(connection, remaining)
            try:
                with self._failures(target.host, watchdog):
                    connection.connect()
            except OutboundError as exc:
                watchdog.cancel()
                connection.close()
                if not exc.transient:
                    raise
                failure = exc
                continue
            watchdog.connected()
            return connection, watchdog
        raise failure

    @contextmanager
    def _failures(self, host: str, watchdog: _Watchdog | None = None):
        """Turns what sockets, TLS, http.client and urllib3 raise into OutboundError."""
        try:
            yield
        except OutboundError:
            raise
        except (ssl.SSLCertVerificationError, CertificateError) as exc:
            # Retrying will not make a certificate acceptable; someone has to fix it.
            raise OutboundError(f"{host}: TLS certificate not accepted ({exc})", transient=False) from exc
        except (OSError, HTTPException, Urllib3Error) as exc:
            if isinstance(exc, NewConnectionError):  # tested first: it subclasses ConnectTimeoutError
                message = f"cannot connect ({exc})"
            elif (watchdog is not None and watchdog.expired) or isinstance(exc, TimeoutError | Urllib3Timeout):
                message = f"timed out after {self.timeout} s"
            else:
                message = f"connection failed ({exc})"
            raise OutboundError(f"{host}: {message}", transient=True) from exc

    def _lines(self, response: HTTPResponse, max_bytes: int, host: str) -> Iterator[bytes]:
        pending: list[bytes] = []  # pieces of a line not yet ended; joined once, however many reads it spans
        received = 0
        while True:
            with self._failures(host):
                chunk = response.read1(CHUNK)
            if not chunk:
                break
            received += len(chunk)
            if received > max_bytes:
                raise OutboundError(f"{host}: response larger than {max_bytes} bytes", transient=False)
            *ended, rest = chunk.split(b"\n")
            if ended:
                yield b"".join([*pending, ended[0]])
                yield from ended[1:]
                pending = []
            if rest:
                pending.append(rest)
        if pending:  # no final newline: the caller sees the truncated line and can tell
            yield b"".join(pending)


def _read(response: HTTPResponse, limit: int, host: str, *, truncate: bool = False) -> bytes:
    # length_remaining: Content-Length, except for answers that have no body (HEAD, 204, 304); None when unsaid.
    declared = response.length_remaining
    if not truncate and declared is not None and declared > limit:
        raise OutboundError(f"{host}: response larger than {limit} bytes (Content-Length {declared})",
                            transient=False)
    chunks, received = [], 0
    while chunk := response.read1(CHUNK):
        chunks.append(chunk)
        received += len(chunk)
        if received > limit:
            if truncate:
                break
            raise OutboundError(f"{host}: response larger than {limit} bytes", transient=False)
    return b"".join(chunks)[:limit]


def _headers(response: HTTPResponse) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.itermerged()}
