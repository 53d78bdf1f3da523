"""Outbound requests against real servers on 127.0.0.1 and ::1, in threads: no mocks, no network."""

from __future__ import annotations

import datetime
import email.utils
import http.server
import ipaddress
import socket
import ssl
import struct
import threading
import time
from contextlib import contextmanager, suppress

import pytest

from registry.outbound import Outbound, OutboundError, RefusedURL, Response

NDJSON = b'{"n":1}\n{"n":2}\n{"n":3}\n'
LONG_LINE = b"x" * 200_000


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append((self.command, self.path, self.headers, b""))
        self.route()

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "2048")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.seen.append((self.command, self.path, self.headers, body))
        self.send(200, b"posted " + body)

    def send(self, status, body=b"", headers=(), length=True):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route(self):
        path = self.path.partition("?")[0]
        if path == "/hello":
            self.send(200, b"hello", [("X-Test", "yes"), ("Content-Type", "text/plain")])
        elif path.startswith("/redirect/"):
            self.send(int(path.rsplit("/", 1)[1]), headers=[("Location", self.server.redirect_to)])
        elif path == "/status/503":
            self.send(503, b"busy", [("Retry-After", "7")])
        elif path.startswith("/status/"):
            self.send(int(path.rsplit("/", 1)[1]), b"not here")
        elif path == "/big":
            self.send(200, b"b" * 2048)
        elif path == "/big-unsized":  # no Content-Length: the body ends when the connection does
            self.send(200, b"b" * 2048, length=False)
        elif path == "/short":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.close_connection = True
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        elif path == "/ndjson":
            self.send(200, NDJSON, [("Content-Type", "application/x-ndjson")])
        elif path == "/ndjson-unterminated":
            self.send(200, NDJSON + b'{"n":4', length=False)
        elif path == "/ndjson-long":
            self.send(200, b"first\n" + LONG_LINE + b"\nlast\n", length=False)
        else:
            self.send(404, b"no such path")


class IPv6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextmanager
def running(server):
    server.seen = []
    server.redirect_to = ""
    server.handle_error = lambda request, address: None  # clients here hang up mid-answer on purpose
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server():
    with running(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield server


@contextmanager
def raw_server(serve):
    """A TCP server on 127.0.0.1 that hands each accepted connection to `serve`, for faults no HTTP server makes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def accept():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(connection,), daemon=True).start()

    def serve_one(connection):
        with connection, suppress(OSError):
            serve(connection)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        with suppress(OSError):  # wakes the thread blocked in accept()
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()


def read_request(connection):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


# Refused URLs


@pytest.mark.parametrize(("url", "rule"), [
    ("ftp://127.0.0.1:{port}/", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("http://user:pw@127.0.0.1:{port}/", "userinfo"),
    ("http:///path", "no host"),
    ("http://127.0.0.1:{port}/", "loopback"),
    ("http://localhost:{port}/", "loopback"),
    ("http://2130706433:{port}/", "loopback"),  # 127.0.0.1 spelled as one number
    ("http://10.1.2.3/", "private"),
    ("http://192.168.0.1/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]:{port}/", "loopback"),
    ("http://[fe80::1]/", "link-local"),
    ("http://0.0.0.0:{port}/", "unspecified"),
    ("http://[::ffff:127.0.0.1]:{port}/", "loopback"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://100.100.100.200/latest/meta-data/", "shared"),  # a cloud metadata service in 100.64.0.0/10
    ("http://100.64.0.1/", "shared"),
    ("http://192.0.0.192/", "IETF protocol"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://192.0.2.10/", "documentation"),
    ("http://[2002:7f00:1::]:{port}/", r"loopback \(inside 2002:7f00:1::\)"),  # 6to4 wrapping 127.0.0.1
    ("http://[2002:a00:1::]/", "private"),
    ("http://[64:ff9b::a00:1]/", r"private \(inside 64:ff9b::a00:1\)"),  # NAT64 wrapping 10.0.0.1
    ("http://[64:ff9b::7f00:1]:{port}/", "loopback"),
    ("http://[64:ff9b:1::a00:1]/", "local NAT64"),
    ("http://[::127.0.0.1]:{port}/", "loopback"),  # IPv4-compatible
    ("http://[::ffff:100.100.100.200]/", "shared"),
    ("http://[2001::1]/", "IETF protocol"),  # Teredo
    ("http://[2001:db8::1]/", "documentation"),
    ("http://[fc00::1]/", "unique local"),
    ("http://[100::1]/", "discard"),
    ("http://[4000::1]/", "reserved"),
    ("http://127.0.0.1:{port}/a b", "control characters"),
    ("http://127.0.0.1:99999/", "port"),
    ("http://127.0.0.1:0/", "port"),
])
def test_refused_urls_name_the_rule_and_connect_nowhere(url, rule):
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        url = url.format(port=listener.getsockname()[1])
        with pytest.raises(RefusedURL, match=rule) as refused:
            Outbound().request("GET", url)
        assert refused.value.transient is False
        assert "pw" not in str(refused.value)
        with pytest.raises(RefusedURL, match=rule):
            Outbound().check_url(url)
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):  # nobody knocked
            listener.accept()


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
                                     "2002:808:808::1", "192.0.1.1", "100.128.0.1"])
def test_globally_reachable_addresses_pass_the_address_rule(address):
    from registry.outbound import _rule_broken

    assert _rule_broken(ipaddress.ip_address(address)) is None


def test_the_allow_list_also_admits_what_an_ipv6_form_carries():
    from registry.outbound import _Target

    assert isinstance(Outbound("127.0.0.0/8")._target("http://[64:ff9b::7f00:1]:8080/"), _Target)


def test_allow_list_admits_only_what_it_names(server):
    with pytest.raises(RefusedURL, match="loopback"):
        Outbound("10.0.0.0/8, registry.internal").request("GET", server.url + "/hello")
    assert server.seen == []


def test_unresolvable_host_is_transient():
    # Longer than DNS allows (255 octets): the resolver gives up without sending a query, so no network is needed.
    too_long = ".".join(["a" * 63] * 5)
    with pytest.raises(OutboundError, match="cannot resolve") as failed:
        Outbound().check_url(f"http://{too_long}/")
    assert failed.value.transient is True
    assert not isinstance(failed.value, RefusedURL)


def test_check_url_returns_host_port_and_address():
    outbound = Outbound("127.0.0.1, ::1")
    assert outbound.check_url("http://127.0.0.1:8000/x#fragment") == ("127.0.0.1", 8000, "127.0.0.1")
    assert outbound.check_url("https://127.0.0.1/") == ("127.0.0.1", 443, "127.0.0.1")
    assert outbound.check_url("http://[::1]/") == ("::1", 80, "::1")


# Allowed requests


@pytest.mark.parametrize("allow", ["127.0.0.1", "127.0.0.0/8", "LOCALHOST"])
def test_allowed_get_returns_status_headers_body(server, allow):
    url = server.url + "/hello?q=1#dropped"
    if allow == "LOCALHOST":
        url = url.replace("127.0.0.1", "localhost")
    response = Outbound(allow).request("GET", url)
    assert response == Response(200, response.headers, b"hello")
    assert response.headers["x-test"] == "yes"
    assert response.headers["content-type"] == "text/plain"
    method, path, headers, _ = server.seen[-1]
    assert (method, path) == ("GET", "/hello?q=1")
    assert headers["Host"] == url.split("/")[2]
    assert headers["User-Agent"] == "contact-point-registry"


def test_post_sends_body_and_host_cannot_be_overridden(server):
    response = Outbound("127.0.0.1").request("POST", server.url + "/echo", body=b'{"a":1}',
                                             headers={"Content-Type": "application/json", "host": "elsewhere",
                                                      "user-agent": "peer-sync"})
    assert (response.status, response.body) == (200, b'posted {"a":1}')
    method, _, headers, body = server.seen[-1]
    assert (method, body) == ("POST", b'{"a":1}')
    assert headers["Host"] == server.url.removeprefix("http://")
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "peer-sync"


def test_ipv6_literal():
    try:
        ipv6 = IPv6Server(("::1", 0), Handler)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with running(ipv6):
        port = ipv6.server_address[1]
        response = Outbound("::1").request("GET", f"http://[::1]:{port}/hello")
        assert response.body == b"hello"
        assert ipv6.seen[-1][2]["Host"] == f"[::1]:{port}"


# Redirects, errors, Retry-After


@pytest.mark.parametrize("status", [301, 302, 307])
def test_redirects_are_not_followed(server, status):
    with running(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as target:
        server.redirect_to = f"http://127.0.0.1:{target.server_address[1]}/hello"
        with pytest.raises(OutboundError, match="redirect not followed") as failed:
            Outbound("127.0.0.1").request("GET", server.url + f"/redirect/{status}")
        assert (failed.value.status, failed.value.transient) == (status, False)
        streaming = Outbound("127.0.0.1").stream_lines(server.url + f"/redirect/{status}", max_bytes=1000)
        with pytest.raises(OutboundError, match="redirect not followed"), streaming:
            pass
        assert target.seen == []


def test_error_statuses_are_returned(server):
    outbound = Outbound("127.0.0.1")
    not_found = outbound.request("GET", server.url + "/status/404")
    assert (not_found.status, not_found.body) == (404, b"not here")
    assert outbound.request("GET", server.url + "/status/500").status == 500
    busy = outbound.request("GET", server.url + "/status/503")
    assert (busy.status, busy.body) == (503, b"busy")
    assert Outbound.retry_after(busy) == 7.0
    assert Outbound.retry_after(not_found) is None


def test_retry_after_forms():
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=60)
    assert 55 <= Outbound.retry_after({"Retry-After": email.utils.format_datetime(soon, usegmt=True)}) <= 60
    assert Outbound.retry_after({"retry-after": "Sun, 06 Nov 1994 08:49:37 GMT"}) == 0.0
    assert Outbound.retry_after({"Retry-After": " 120 "}) == 120.0
    for garbage in ["soon", "-5", "1.5e3", ""]:
        assert Outbound.retry_after({"Retry-After": garbage}) is None
    assert Outbound.retry_after({}) is None


def test_error_transience():
    assert OutboundError("x", status=503, retry_after=7).transient is True
    assert OutboundError("x", status=429).transient is True
    assert OutboundError("x", status=404).transient is False
    assert OutboundError("x").transient is False
    assert OutboundError("x", transient=True).transient is True
    assert RefusedURL("x").transient is False


# Bounds and faults


def test_body_over_max_bytes(server):
    outbound = Outbound("127.0.0.1")
    assert len(outbound.request("GET", server.url + "/big", max_bytes=2048).body) == 2048
    assert len(outbound.request("GET", server.url + "/big-unsized", max_bytes=2048).body) == 2048
    head = outbound.request("HEAD", server.url + "/big", max_bytes=10)  # Content-Length of a body not sent
    assert (head.status, head.headers["content-length"], head.body) == (200, "2048", b"")
    for path in ["/big", "/big-unsized"]:
        with pytest.raises(OutboundError, match="larger than 2047 bytes") as failed:
            outbound.request("GET", server.url + path, max_bytes=2047)
        assert failed.value.transient is False


def test_trickling_body_is_cut_off_at_the_deadline(server):
    started = time.monotonic()
    with pytest.raises(OutboundError, match="timed out") as failed:
        Outbound("127.0.0.1", timeout=1).request("GET", server.url + "/trickle")
    assert failed.value.transient is True
    assert time.monotonic() - started < 2


def test_trickling_headers_are_cut_off_at_the_deadline():
    def trickle(connection):
        read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in range(100):
            connection.sendall(b"y")
            time.sleep(0.2)

    with raw_server(trickle) as url:
        started = time.monotonic()
        with pytest.raises(OutboundError, match="timed out") as failed:
            Outbound("127.0.0.1", timeout=1).request("GET", url + "/")
        assert failed.value.transient is True
        assert time.monotonic() - started < 2


def test_body_shorter_than_content_length_is_transient(server):
    with pytest.raises(OutboundError) as failed:
        Outbound("127.0.0.1").request("GET", server.url + "/short")
    assert failed.value.transient is True


def test_reset_is_transient():
    def reset(connection):
        read_request(connection)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with raw_server(reset) as url:
        with pytest.raises(OutboundError, match="connection failed") as failed:
            Outbound("127.0.0.1").request("GET", url + "/")
        assert failed.value.transient is True


def test_nothing_listening_is_transient():
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    with pytest.raises(OutboundError, match="cannot connect") as failed:
        Outbound("127.0.0.1", timeout=2).request("GET", f"http://127.0.0.1:{port}/")
    assert failed.value.transient is True


# Streaming


def test_stream_lines(server):
    with Outbound("127.0.0.1").stream_lines(server.url + "/ndjson", max_bytes=1000) as (response, lines):
        assert (response.status, response.body) == (200, b"")
        assert response.headers["content-type"] == "application/x-ndjson"
        assert list(lines) == [b'{"n":1}', b'{"n":2}', b'{"n":3}']


def test_stream_lines_yields_an_unterminated_last_line_and_lines_across_reads(server):
    outbound = Outbound("127.0.0.1")
    with outbound.stream_lines(server.url + "/ndjson-unterminated", max_bytes=1000) as (_, lines):
        assert list(lines)[-2:] == [b'{"n":3}', b'{"n":4']
    with outbound.stream_lines(server.url + "/ndjson-long", max_bytes=300_000) as (_, lines):
        assert list(lines) == [b"first", LONG_LINE, b"last"]


def test_stream_lines_non_2xx_has_a_body_and_no_lines(server):
    with Outbound("127.0.0.1").stream_lines(server.url + "/status/404", max_bytes=1000) as (response, lines):
        assert (response.status, response.body) == (404, b"not here")
        assert list(lines) == []


def test_stream_lines_max_bytes(server):
    streaming = Outbound("127.0.0.1").stream_lines(server.url + "/ndjson-long", max_bytes=100_000)
    with streaming as (_, lines), pytest.raises(OutboundError, match="larger than 100000 bytes"):
        list(lines)


def test_stream_lines_reset_while_reading_is_transient():
    def reset_midway(connection):
        read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"n\":1}\n")
        time.sleep(0.1)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with raw_server(reset_midway) as url, Outbound("127.0.0.1").stream_lines(url + "/", max_bytes=10_000) as (_, lines):
        assert next(lines) == b'{"n":1}'
        with pytest.raises(OutboundError) as failed:
            list(lines)
        assert failed.value.transient is True


# TLS: the connection goes to the pinned address, the certificate is checked against the URL's host


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject, issuer, public_key, signing_key, extensions):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(hours=1)))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = certificate(ca_name, ca_name, ca_key.public_key(), ca_key,
                     [(x509.BasicConstraints(ca=True, path_length=None), True)])
    leaf = certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]), ca_name,
                       leaf_key.public_key(), ca_key,
                       [(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)])
    folder = tmp_path_factory.mktemp("tls")
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return folder


@pytest.fixture
def tls_server(tls_files, monkeypatch):
    # OpenSSL reads SSL_CERT_FILE whenever a context loads the default trust store: urllib3 does per connection.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files / "ca.pem"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files / "leaf.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with running(server):
        yield server


def test_https_to_the_pinned_address_verifies_the_url_host(tls_server):
    port = tls_server.server_address[1]
    response = Outbound("localhost").request("GET", f"https://localhost:{port}/hello")
    assert response.body == b"hello"
    assert tls_server.seen[-1][2]["Host"] == f"localhost:{port}"


def test_https_certificate_for_another_name_is_refused(tls_server):
    port = tls_server.server_address[1]
    with pytest.raises(OutboundError, match="certificate") as failed:
        Outbound("127.0.0.1").request("GET", f"https://127.0.0.1:{port}/hello")
    assert failed.value.transient is False
    assert tls_server.seen == []
