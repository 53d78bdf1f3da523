"""Limits as a served node (gunicorn) applies them: a body sent chunked is held to the same limit as one
with a length (413, never a silently truncated body), and what gunicorn refuses itself (an over-long
request line or header) is answered with problem+json too."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from conftest import fresh_database_url
from nodes import Node

LIMIT = 2048


@pytest.fixture(scope="module")
def node(backend, tmp_path_factory):
    instance = tmp_path_factory.mktemp(f"served-limits-{backend}")
    served = Node("node-l", instance, fresh_database_url(backend, instance))
    served.env["REGISTRY_MAX_BODY_BYTES"] = str(LIMIT)
    served.start()
    yield served
    served.stop()


def chunks(data: bytes, size: int = 300):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def admin_headers(node) -> dict:
    return {"Authorization": f"Bearer {node.token('admin')}", "Content-Type": "application/json"}


def client_names(node, headers) -> set[str]:
    return {c["name"] for c in requests.get(f"{node.url}/api/v1/admin/clients", headers=headers, timeout=10).json()}


def test_a_chunked_body_over_the_limit_is_413_and_changes_nothing(node):
    headers = admin_headers(node)
    body = ('{"name": "' + "x" * (LIMIT + 100) + '", "scope": "admin"}').encode()
    before = client_names(node, headers)
    response = requests.post(f"{node.url}/api/v1/admin/clients", data=chunks(body), headers=headers, timeout=10)
    assert response.status_code == 413, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert str(LIMIT) in response.json()["detail"]
    assert client_names(node, headers) == before
    form = ("grant_type=client_credentials&padding=" + "y" * LIMIT).encode()
    token = requests.post(f"{node.url}/oauth/token", data=chunks(form), timeout=10,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert token.status_code == 413, token.text


def test_a_chunked_body_within_the_limit_is_read_whole(node):
    headers = admin_headers(node)
    body = b'{"name": "sent-in-chunks", "scope": "directory:read"}'
    response = requests.post(f"{node.url}/api/v1/admin/clients", data=chunks(body, 7), headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    assert "sent-in-chunks" in client_names(node, headers)


def raw_request(node, request: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GET /api/v1/authorities?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /api/v1/authorities HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"p" * 9000 + b"\r\n\r\n", 431),
    (b"GET /api/v1/authorities HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % n for n in range(150)) + b"\r\n",
     431),
    (b"GARBAGE\r\n\r\n", 400),
])
def test_what_gunicorn_refuses_itself_is_answered_with_problem_json(node, request_bytes, status):
    code, headers, body = raw_request(node, request_bytes)
    assert code == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["detail"]
