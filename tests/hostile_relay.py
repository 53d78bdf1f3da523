"""A hostile relay: a real HTTP peer that sits between a puller and an upstream node and lies on demand.

The federation design says a puller must not trust the node it pulls from, only the origins' signatures
(docs/federation-protocol.md). A mock of the puller's HTTP client cannot show that: the lies have to arrive over a real
socket, through the real outbound client, the way a compromised or broken peer would tell them. So this
relay forwards every request to an upstream node as it is (method, path, query, headers with
Authorization, body) and answers with the upstream's answer byte for byte, until a test arms a fault.
It then corrupts the next matching change-feed responses:

- content faults, on pages with at least one item (the first item is the victim): "alter" (payload changed,
  signature kept), "drop" (a gap in seq), "replay" (an envelope of an older version), "sign" (re-signed by
  another node's key), "claim" (re-signed by another node that also claims to be the origin), "equivocate"
  (a validly signed, different content for a version the puller already holds);
- transport faults, on any change-feed request: "status500", "slow", "reset" (TCP RST halfway through the
  body), "truncate" (valid HTTP, half the JSON), "stall" (half the body, then silence until released).

Usage::

    with HostileRelay(upstream_url) as relay:
        relay.set("alter", origin="node-a")   # the next page of node-a's changes with items is altered
        ...pull through relay.url...
        assert relay.injected == 1
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import rfc8785

from registry.crypto import envelope

CHANGES = re.compile(r"^/api/v1/federation/origins/([^/]+)/changes$")
SNAPSHOT = re.compile(r"^/api/v1/federation/origins/([^/]+)/snapshot$")
CONTENT_FAULTS = {"alter", "drop", "replay", "sign", "claim", "equivocate"}
# Lies about what exists and how far the origin is, which the envelopes alone cannot expose: a snapshot
# with a record left out ("omit", the manifest's count and digest recomputed), with a later as_of_seq
# ("inflate"), without its checkpoint ("strip", as a peer of an older release would serve it), an older
# snapshot kept from before ("rollback", after "record" kept one); change pages that stop at `upto`
# ("freeze"); 410 to every change request ("gone").
STATE_FAULTS = {"omit", "inflate", "strip", "record", "rollback", "freeze", "gone"}
TRANSPORT_FAULTS = {"status500", "slow", "reset", "truncate", "stall"}
REQUIRED_OPTIONS = {"sign": ("keys",), "claim": ("keys", "claim_origin"), "equivocate": ("keys", "version", "body")}
# Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message; the relay has two of its own.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "expect"}
UPSTREAM_TIMEOUT = 60.0
STALL_LIMIT = 30.0


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(signed: str) -> dict:
    """The claims of an envelope, unverified: the relay is the attacker, it needs no key to read them."""
    return json.loads(_b64decode(signed.split(".")[1]))


def _resign(keys, claims: dict, **changes) -> str:
    claims = claims | changes
    return envelope.sign(keys, origin=claims["origin"], seq=claims["seq"], record_id=claims["id"],
                         record_type=claims["type"], version=claims["version"], deleted=claims["deleted"],
                         owner_network=claims["owner_network"], updated_at=claims["updated_at"], body=claims["body"])


def _altered(body: dict) -> dict:
    """The body with a name changed: a forgery that still fits the record schema, so only the signature can
    give it away. Records without a name get an extra key instead."""
    body = dict(body)
    names = body.get("names")
    if isinstance(body.get("name"), str):
        body["name"] += " (altered)"
    elif isinstance(names, dict) and names and all(isinstance(v, str) for v in names.values()):
        language = next(iter(names))
        body["names"] = names | {language: names[language] + " (altered)"}
    else:
        body["altered"] = True
    return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    relay: HostileRelay

    def handle_error(self, request, client_address) -> None:
        # A puller that gives up (timeout, its own watchdog) hangs up on us mid-answer: that is the test working.
        # Anything else is a bug in the relay and should be seen.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = UPSTREAM_TIMEOUT  # an idle client must not hold a thread for ever
    server: _Server

    def log_message(self, format, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.relay._handle(self)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET


class HostileRelay:
    """A relay to `upstream` (a base URL such as http://127.0.0.1:8201) listening on `url`.

    `set(fault, times=n, **options)` arms a fault for the next `n` matching responses (None disarms);
    `injected` counts the responses corrupted since then; `requests` lists every path (with query) received.
    Options: `origin` (only that origin's changes feed; default any), `keys` (a joserfc KeySet with one private
    key, for "sign", "claim", "equivocate"), `claim_origin` ("claim"), `version` and `body` ("equivocate"),
    `seconds` ("slow", default 5). For "stall", the handler sets `stalled` once half the body is out and waits
    for `release` (at most 30 s) before closing; `close()` releases it too.
    """

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self._scheme = parts.scheme or "http"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._scheme == "https" else 80)
        self._prefix = parts.path.rstrip("/")
        self._netloc = parts.netloc
        self._lock = threading.Lock()
        self._fault: str | None = None
        self._remaining = 0
        self._options: dict = {}
        # Every genuine envelope seen in a changes page, by record id, oldest first: the material for "replay".
        self._seen: dict[str, list[str]] = {}
        self._seen_order: list[str] = []
        self.injected = 0
        self.recorded = b""
        self.requests: list[str] = []
        self.stalled = threading.Event()
        self.release = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.relay = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"hostile-relay-{self._server.server_address[1]}", daemon=True)
        self._thread.start()

    def __enter__(self) -> HostileRelay:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.release.set()  # a stalled handler would otherwise keep its client waiting for the full 30 s
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def set(self, fault: str | None, *, times: int = 1, **options) -> None:
        if fault is not None and fault not in CONTENT_FAULTS | TRANSPORT_FAULTS | STATE_FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        missing = [name for name in REQUIRED_OPTIONS.get(fault, ()) if name not in options]
        if missing:
            raise ValueError(f"fault {fault!r} needs option(s) {', '.join(missing)}")
        with self._lock:
            self._fault = fault
            self._remaining = times if fault is not None else 0
            self._options = dict(options)
            self.injected = 0
            self.stalled.clear()
            self.release.clear()

    # -- one request -------------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        handler.close_connection = True  # one request per connection: a fault may leave the stream unusable
        self.requests.append(handler.path)
        body = self._request_body(handler)
        fault, options = self._armed(handler)
        if fault in TRANSPORT_FAULTS:
            self._transport_fault(handler, fault, options, body)
            return
        if fault in STATE_FAULTS:
            answer = self._state_fault(handler, fault, options, body)
            if answer is not None:
                self._answer(handler, *answer)
                return
        status, reason, headers, data = self._forward(handler, body)
        if self._is_changes(handler):  # every page is read: the envelopes in it are material for a later replay
            data = self._content(fault, options, status, data)
        self._answer(handler, status, reason, headers, data)

    def _armed(self, handler: _Handler) -> tuple[str | None, dict]:
        """The fault this request is eligible for. Transport faults are claimed here; content faults only once
        the page is known to hold an item, so empty pages neither suffer nor count."""
        with self._lock:
            fault, options = self._fault, self._options
            if fault in STATE_FAULTS and self._remaining > 0:
                return fault, options
            if fault is None or self._remaining <= 0 or not self._matches(handler, options.get("origin")):
                return None, {}
            if fault in TRANSPORT_FAULTS:
                self._claim()
            return fault, options

    def _claim(self) -> None:
        # Called with the lock held, after checking _remaining: two concurrent pages must not both take the last slot.
        self._remaining -= 1
        self.injected += 1

    def _is_changes(self, handler: _Handler) -> bool:
        return handler.command == "GET" and CHANGES.match(urlsplit(handler.path).path) is not None

    def _matches(self, handler: _Handler, origin: str | None) -> bool:
        match = CHANGES.match(urlsplit(handler.path).path)
        return self._is_changes(handler) and origin in (None, unquote(match.group(1)))

    # -- talking to both sides ---------------------------------------------------------------------

    @staticmethod
    def _request_body(handler: _Handler) -> bytes | None:
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
            while handler.rfile.readline().strip():  # trailers, then the blank line
                pass
            return b"".join(chunks)
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else None

    def _forward(self, handler: _Handler, body: bytes | None) -> tuple[int, str, list[tuple[str, str]], bytes]:
        connection_class = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        connection = connection_class(self._host, self._port, timeout=UPSTREAM_TIMEOUT)
        # The Host the upstream expects is its own; everything else travels as the client sent it.
        headers = {name: value for name, value in handler.headers.items()
                   if name.lower() not in HOP_BY_HOP | {"host", "content-length"}}
        headers["Host"] = self._netloc
        if body is not None:
            headers["Content-Length"] = str(len(body))
        try:
            connection.request(handler.command, self._prefix + handler.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, response.reason, response.getheaders(), data
        except (OSError, http.client.HTTPException) as exc:
            problem = {"title": "Bad gateway", "status": 502, "detail": f"relay could not reach upstream: {exc}"}
            return 502, "Bad Gateway", [("Content-Type", "application/problem+json")], json.dumps(problem).encode()
        finally:
            connection.close()

    @staticmethod
    def _head(handler: _Handler, status: int, reason: str, headers: list[tuple[str, str]], length: int) -> None:
        # send_response_only: the upstream's Date and Server are relayed, not doubled with ours.
        handler.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP | {"content-length"}:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(length))
        handler.send_header("Connection", "close")
        handler.end_headers()

    def _answer(self, handler: _Handler, status: int, reason: str, headers: list[tuple[str, str]],
                data: bytes) -> None:
        if handler.command == "HEAD":
            # No body came back, so the upstream's own Content-Length is the one that describes the resource.
            length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
            self._head(handler, status, reason, headers, length)
            return
        self._head(handler, status, reason, headers, len(data))
        handler.wfile.write(data)

    # -- content faults ----------------------------------------------------------------------------

    def _content(self, fault: str | None, options: dict, status: int, data: bytes) -> bytes:
        try:
            page = json.loads(data) if status == 200 else None
        except ValueError:
            page = None
        items = page.get("items") if isinstance(page, dict) else None
        if not isinstance(items, list) or not items:
            return data
        with self._lock:
            first = items[0]
            changed = None
            if fault in CONTENT_FAULTS and self._remaining > 0:
                changed = self._corrupt(fault, options, page, first["envelope"])
                if changed is not None:
                    self._claim()
            # Only what went out genuine is remembered: a replay must be an envelope the origin really signed.
            for index, item in enumerate(items):
                if index or changed is None:
                    self._remember(item["envelope"])
        if changed is None:
            return data
        return json.dumps(changed).encode()

    def _corrupt(self, fault: str, options: dict, page: dict, signed: str) -> dict | None:
        """The page with its first item corrupted, or None when this fault cannot be made here."""
        items = page["items"]
        claims = claims_of(signed)
        if fault == "drop":
            return page | {"items": items[1:]}
        if fault == "alter":
            header, payload, signature = signed.split(".")
            forged = f"{header}.{_b64encode(rfc8785.dumps(claims | {'body': _altered(claims['body'])}))}.{signature}"
        elif fault == "replay":
            forged = self._older(claims, signed)
            if forged is None:
                return None
        elif fault == "sign":
            forged = _resign(options["keys"], claims)
        elif fault == "claim":
            forged = _resign(options["keys"], claims, origin=options["claim_origin"])
        else:  # equivocate
            forged = _resign(options["keys"], claims, version=options["version"], body=options["body"])
        return page | {"items": [items[0] | {"envelope": forged}, *items[1:]]}

    def _remember(self, signed: str) -> None:
        try:
            record_id = claims_of(signed)["id"]
        except (ValueError, KeyError, IndexError, TypeError):
            return
        known = self._seen.setdefault(record_id, [])
        if signed not in known:
            known.append(signed)
            self._seen_order.append(signed)

    def _older(self, claims: dict, signed: str) -> str | None:
        """The newest envelope of an older version of the same record, else of any version but this one, else
        the latest other envelope forwarded: replaying the very envelope being served would change nothing."""
        same = [e for e in self._seen.get(claims["id"], []) if e != signed]
        older = [e for e in same if claims_of(e).get("version", 0) < claims["version"]]
        others = [e for e in self._seen_order if e != signed]
        for candidates in (older, same, others):
            if candidates:
                return candidates[-1]
        return None

    # -- lies about state ---------------------------------------------------------------------------

    def _state_fault(self, handler: _Handler, fault: str, options: dict, body: bytes | None):
        """(status, reason, headers, data) of a lie, or None to forward the request as it is."""
        path = urlsplit(handler.path).path
        snapshot, changes = SNAPSHOT.match(path), CHANGES.match(path)
        origin = options.get("origin")
        if snapshot and origin in (None, unquote(snapshot.group(1))) and fault in {"omit", "inflate", "strip",
                                                                                  "record", "rollback"}:
            status, reason, headers, data = self._forward(handler, body)
            if status != 200:
                return status, reason, headers, data
            if fault == "record":
                self.recorded = data
            elif fault == "rollback":
                data = self.recorded
            else:
                data = self._lying_snapshot(fault, data)
            with self._lock:
                self._claim()
            return status, reason, headers, data
        if changes and origin in (None, unquote(changes.group(1))) and fault in {"freeze", "gone"}:
            with self._lock:
                self._claim()
            if fault == "gone":
                problem = json.dumps({"type": "about:blank", "title": "Gone", "status": 410,
                                      "detail": "cursor gone"}).encode()
                return 410, "Gone", [("Content-Type", "application/problem+json")], problem
            status, reason, headers, data = self._forward(handler, body)
            page = json.loads(data)
            upto = options["upto"]
            items = [item for item in page.get("items", []) if item["seq"] <= upto]
            page |= {"items": items, "last_seq": max(upto, page["after"]), "has_more": False,
                     "next_after": items[-1]["seq"] if items else page["after"], "checkpoint": None}
            return status, reason, headers, json.dumps(page).encode()
        return None

    @staticmethod
    def _lying_snapshot(fault: str, data: bytes) -> bytes:
        lines = [json.loads(line) for line in data.splitlines() if line.strip()]
        records, manifest = lines[:-1], lines[-1]["manifest"]
        if fault == "omit":
            records = records[1:]
        elif fault == "inflate":
            manifest["as_of_seq"] += 1000
        else:  # strip
            manifest.pop("checkpoint", None)
        digest = hashlib.sha256(b"".join(r["envelope"].encode() + b"\n" for r in records)).hexdigest()
        manifest |= {"count": len(records), "digest": digest}
        return b"".join(json.dumps(line).encode() + b"\n" for line in [*records, {"manifest": manifest}])

    # -- transport faults --------------------------------------------------------------------------

    def _transport_fault(self, handler: _Handler, fault: str, options: dict, body: bytes | None) -> None:
        if fault == "status500":
            problem = json.dumps({"title": "Internal error", "status": 500}).encode()
            self._answer(handler, 500, "Internal Server Error", [("Content-Type", "application/problem+json")],
                         problem)
            return
        if fault == "slow":
            time.sleep(options.get("seconds", 5))
            if self._client_gone(handler):
                return
            self._answer(handler, *self._forward(handler, body))
            return
        status, reason, headers, data = self._forward(handler, body)
        half = data[: len(data) // 2]
        if fault == "truncate":
            self._answer(handler, status, reason, headers, half)
            return
        self._head(handler, status, reason, headers, len(data))
        handler.wfile.write(half)
        if fault == "stall":
            self.stalled.set()
            self.release.wait(STALL_LIMIT)
            return  # the server then closes the connection normally: the client sees a body cut short
        # reset: linger on, timeout zero makes close() send RST instead of FIN.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The buffered reader holds a reference that would keep the socket open past close().
        handler.rfile.close()
        handler.connection.close()

    @staticmethod
    def _client_gone(handler: _Handler) -> bool:
        # A readable socket with nothing to read is a client that hung up while we slept.
        try:
            readable, _, _ = select.select([handler.connection], [], [], 0)
            return bool(readable) and handler.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
