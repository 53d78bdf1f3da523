"""An example of every operation's request and answer in the OpenAPI document.

The examples are answers of a real node, captured by `registry openapi examples` from a fresh
database seeded with the demonstration directory (secrets and tokens replaced by placeholders), and
kept in `examples.json` beside this module. `ExamplesPlugin` puts each one under its operation as
the spec is built, so the served document and openapi.yaml carry them; a test checks that every
operation has one and that each still matches the operation's schema.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from apispec import BasePlugin

EXAMPLES_FILE = Path(__file__).with_name("examples.json")
PLACEHOLDER = "<shown once; not kept by the registry>"
# A webhook secret has a form of its own (Standard Webhooks): the placeholder keeps it.
PLACEHOLDERS = {"secret": "whsec_" + "0" * 43 + "="}
# Answers longer than this many items are cut, so that the document stays readable.
MAX_ITEMS = 2
SECRET_KEYS = {"client_secret", "secret", "access_token", "token", "previous_secret"}


class ExamplesPlugin(BasePlugin):
    def __init__(self, examples: dict | None = None):
        self.examples = examples if examples is not None else load()

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            found = self.examples.get(f"{method.upper()} {path}")
            if not found:
                continue
            if "request" in found:
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    content["example"] = found["request"]
            responses = operation.get("responses", {})
            response = responses.get(found["status"], responses.get(str(found["status"])))
            if isinstance(response, dict) and "response" in found:
                for media_type, content in response.get("content", {}).items():
                    if media_type.endswith("json"):
                        content["example"] = found["response"]


def load() -> dict:
    return json.loads(EXAMPLES_FILE.read_text(encoding="utf-8")) if EXAMPLES_FILE.exists() else {}


def _trimmed(value):
    if isinstance(value, list):
        return [_trimmed(v) for v in value[:MAX_ITEMS]]
    if isinstance(value, dict):
        return {k: (PLACEHOLDERS.get(k, PLACEHOLDER) if k in SECRET_KEYS and isinstance(v, str) else _trimmed(v))
                for k, v in value.items()}
    return value


# Values of path parameters on the seeded node, by the parameter's name.
PATH_VALUES = {"authority_id": "local:kg-gpo", "contact_point_id": "local:kg-gpo-duty",
               "note_id": "local:note-kg-tip-urgent", "procedure_id": "local:proc-at-eio", "code": "casc",
               "origin": "local", "node_id": "casc-node", "name": "spare"}
# Query strings where an operation needs one to answer.
QUERIES = {"/api/v1/lookup": "country=KG&crime_type=trafficking_in_persons&request_type=mla",
           "/api/v1/search": "q=prosecutor Kyrgyzstan", "/api/v1/procedures": "country=AT"}
# The scope each family of routes is asked with.
SCOPES = [(r"^/api/v1/(admin|audit)", "admin"),
          (r"^/api/v1/federation/(origins|status|quarantine)", "federation:read admin"),
          (r"^/api/v1/subscriptions", "directory:read"), (r"^/api/v1/networks/[^/]+/(gaps|members)", "publish:casc"),
          (r"^/api/v1/(authorities|contact-points|emergency-notes|procedures)$", "publish:casc directory:restricted"),
          (r"^/api/v1/", "directory:restricted publish:casc")]
BODIES = {
    "authorities": {"owner_network": "casc", "names": {"en": "Office of the Prosecutor General (example)"},
                    "kind": "prosecution_service", "country": "KG", "competences": ["corruption"],
                    "request_types": ["mla"], "languages": ["ru", "en"],
                    "channels": [{"kind": "phone", "value": "+996 555 0199", "visibility": "public"}],
                    "status": "active"},
    "contact-points": {"owner_network": "casc", "authority_id": "local:kg-gpo", "kind": "function",
                       "position": {"en": "Duty desk (example)"}, "roles": [{"network": "casc", "role": "alternate"}],
                       "languages": ["ru"], "phone": "+996 555 0198",
                       "hours": {"time_zone": "Asia/Bishkek", "always": True}, "valid_from": "2026-01-01"},
    "emergency-notes": {"owner_network": "casc", "scope": {"country": "KG"}, "kind": "temporary_measure",
                        "urgency": "routine", "title": {"en": "Requests by e-mail accepted (example)"},
                        "body": {"en": "Scanned requests are accepted by e-mail; originals follow."},
                        "effective_from": "2026-01-01", "visibility": "public"},
    "procedures": {"owner_network": "casc", "country": "KG", "request_types": ["mla"],
                   "title": {"en": "MLA requests to Kyrgyzstan (example)"}, "channels": ["central_authority"],
                   "sources": [{"title": "Example source", "url": "https://example.org/source"}],
                   "unknown": ["languages"], "visibility": "public"},
}
SUBSCRIPTION = {"url": "http://127.0.0.1:9/hooks/registry", "countries": ["KG"]}
PATCHES = {"authorities": {"acronym": "GPO"}, "contact-points": {"languages": ["ru", "ky"]},
           "emergency-notes": {"urgency": "urgent"}, "procedures": {"channels": ["central_authority", "diplomatic"]}}


def capture(app, jwks_host: str = "127.0.0.1") -> dict:
    """Ask `app` (a node on a fresh, migrated database, with `jwks_host` among its allowed hosts) every
    operation of its OpenAPI document, after seeding it, and keep its answers as examples."""
    from registry.auth.clients import create_client
    from registry.services.seed import seed

    spec = app.extensions["registry_api"].spec.to_dict()
    ctx = app.extensions["registry"]
    seed(ctx)
    client = app.test_client()
    credentials = {}

    def token(scope: str) -> str:
        if scope not in credentials:
            made = create_client(ctx, f"examples-{len(credentials)}", scope)
            answer = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(made.client.client_id, made.client_secret))
            credentials[scope] = (made, answer.get_json()["access_token"])
        return credentials[scope][1]

    def ask(method, path, body=None, scope=None, headers=None, form=None):
        headers = dict(headers or {})
        if scope:
            headers["Authorization"] = f"Bearer {token(scope)}"
        return client.open(path, method=method, json=body, data=form, headers=headers)

    values = dict(PATH_VALUES)
    values["client_ref"] = create_client(ctx, "reader", "directory:read").client.client_id
    subscription = ask("POST", "/api/v1/subscriptions", SUBSCRIPTION | {"countries": ["KZ"]},
                       "directory:read").get_json()
    values["subscription_id"] = subscription["id"]
    # The keys an origin publishes, served on 127.0.0.1 for the trust route to fetch.
    keys = _serve(client.get("/.well-known/registry-keys.json").get_data(), jwks_host)
    values["jwks_url"] = f"http://{jwks_host}:{keys.server_port}/keys.json"
    examples = {}
    # Deletions last, so that every other route still finds what they remove.
    operations = sorted(((method == "delete", path, method) for path, item in spec["paths"].items()
                         for method in ("get", "post", "put", "patch", "delete") if method in item))
    for _, path, method in operations:
        key = f"{method.upper()} {path}"
        collection = path.split("/")[3] if path.startswith("/api/v1/") else ""
        scope = next((s for pattern, s in SCOPES if re.search(pattern, path)), None)
        body = None
        if method in ("post", "put") and collection in BODIES and path.count("/") == 3:
            body = BODIES[collection]
        filled = re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), m.group(0)), path)
        if collection == "countries":
            filled = filled.replace("/casc", "/KG")
        if method in ("put", "patch", "delete") and collection in BODIES and "{" in path:
            created = ask("POST", f"/api/v1/{collection}", BODIES[collection], scope)
            assert created.status_code == 201, created.get_data(as_text=True)
            created = created.get_json()["id"]
            filled = f"/api/v1/{collection}/{created}"
            body = BODIES[collection] if method == "put" else PATCHES[collection] if method == "patch" else None
        headers = {}
        if method in ("put", "patch", "delete") and (collection in BODIES or "/members/" in path
                                                     or collection == "subscriptions"):
            target = filled.split("/members/")[0] if "/members/" in filled else filled
            headers["If-Match"] = ask("GET", target, scope=scope).headers["ETag"]
        body, form = _special(method, path, body, token, credentials, values)
        if path in QUERIES and method == "get":
            filled = f"{filled}?{QUERIES[path]}"
        answer = ask(method.upper(), filled, body=body, scope=None if path.startswith("/oauth/") else scope,
                     headers=headers, form=form)
        found = {"status": answer.status_code}
        if body is not None:
            found["request"] = _trimmed(body)
        if form is not None:
            found["request"] = _trimmed(form)
        if answer.mimetype == "application/x-ndjson":
            lines = answer.get_data(as_text=True).splitlines()
            found["response"] = "\n".join(lines[:MAX_ITEMS] + lines[-1:]) + "\n"
        elif (answered := answer.get_json(silent=True)) is not None:
            found["response"] = _trimmed(answered)
        examples[key] = found
    keys.shutdown()
    return examples


def _serve(document: bytes, host: str):
    """A server on `host` answering every GET with `document` (JSON), in a thread."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server name)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _special(method, path, body, token, credentials, values):
    """Bodies of the routes that are not record writes; (json body, form body)."""
    if path == "/oauth/token":
        made, _ = credentials["directory:restricted publish:casc"]
        return None, {"grant_type": "client_credentials", "client_id": made.client.client_id,
                      "client_secret": made.client_secret}
    if path in ("/oauth/introspect", "/oauth/revoke"):
        # A token of its own: revoking it must not stop the routes asked after.
        token("federation:read")
        made, access = credentials["federation:read"]
        return None, {"token": access, "client_id": made.client.client_id, "client_secret": made.client_secret}
    if path == "/api/v1/admin/clients" and method == "post":
        return {"name": "partner-system", "scope": "directory:read"}, None
    if path == "/api/v1/admin/origins" and method == "post":
        return {"node_id": "casc-node", "namespace": "casc-node", "jwks_url": values["jwks_url"]}, None
    if path == "/api/v1/admin/clients/{client_ref}" and method == "patch":
        return {"disabled": False}, None
    if path == "/api/v1/subscriptions" and method == "post":
        return SUBSCRIPTION, None
    if path == "/api/v1/admin/peers" and method == "post":
        return {"name": "spare", "url": "http://127.0.0.1:8001", "client_id": "CLIENT_ID",
                "client_secret": "CLIENT_SECRET"}, None

    if path == "/api/v1/subscriptions/{subscription_id}" and method == "patch":
        return {"countries": ["KG", "KZ"]}, None
    if path == "/api/v1/networks/{code}/members/{authority_id}" and method == "put":
        return {"role": "member", "since": "2014-05-01"}, None
    return body, None


def write(examples: dict) -> None:
    text = json.dumps(examples, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    EXAMPLES_FILE.write_text(text, encoding="utf-8")
