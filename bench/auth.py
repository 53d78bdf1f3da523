"""What authentication and publishing cost, side by side in one run.

In-process (Flask test client, no HTTP server, so the figures isolate the application's own work)
on a freshly seeded SQLite database in a temporary folder, response cache off:

- the same GET anonymously and with a bearer token (signature check, revocation and client lookups);
- token issuance at /oauth/token;
- publishing through the API (POST, PATCH with If-Match) against calling the write path directly.

    .venv/bin/python bench/auth.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry import create_app, migrations  # noqa: E402
from registry.auth.clients import create_client  # noqa: E402
from registry.config import Settings  # noqa: E402
from registry.services.records import write_record  # noqa: E402
from registry.services.seed import seed  # noqa: E402

AUTHORITY = {"names": {"en": "Bench Office"}, "kind": "prosecution_service", "country": "KG",
             "competences": ["corruption"], "request_types": ["mla"], "languages": ["ru"], "status": "active",
             "channels": [{"kind": "email", "value": "bench@example.org", "visibility": "public"}]}


def measure(name: str, action, seconds: float) -> dict:
    timings = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    timings.sort()
    return {"name": name, "ops": len(timings) / sum(timings), "p50": statistics.median(timings) * 1000,
            "p99": timings[int(len(timings) * 0.99) - 1] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="Time per measurement.")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="registry-bench-auth-"))
    settings = Settings.from_env({}, instance_path=str(folder), response_cache_size=0,
                                 rate_limit_client="1000000/minute", rate_limit_address="1000000/minute",
                                 rate_limit_token="1000000/minute")
    migrations.upgrade(settings.database_url)
    app = create_app(settings)
    ctx = app.extensions["registry"]
    seed(ctx)
    client = app.test_client()
    credentials = create_client(ctx, "bench", "publish:casc directory:read")
    auth = (credentials.client.client_id, credentials.client_secret)

    def get_token():
        response = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
        assert response.status_code == 200
        return response.get_json()["access_token"]

    bearer = {"Authorization": f"Bearer {get_token()}"}
    item = "/api/v1/authorities/local:kg-gpo"
    created = client.post("/api/v1/authorities", json=AUTHORITY | {"owner_network": "casc"}, headers=bearer)
    patched = f"/api/v1/authorities/{created.get_json()['id']}"
    etag = [created.headers["ETag"]]
    counter = [0]

    def api_patch():
        counter[0] += 1
        response = client.patch(patched, json={"acronym": f"B{counter[0]}"}, headers=bearer | {"If-Match": etag[0]})
        assert response.status_code == 200, response.get_data(as_text=True)
        etag[0] = response.headers["ETag"]

    def api_post():
        assert client.post("/api/v1/authorities", json=AUTHORITY | {"owner_network": "casc"},
                           headers=bearer).status_code == 201

    def direct_write():
        counter[0] += 1
        with ctx.db.write() as session:
            write_record(
                session, ctx.taxonomy, signing_keys=ctx.record_keys.signing_keys(),
                origin="local", record_type="authority",
                record_id=f"local:bench-{counter[0]}", owner_network="casc", body=AUTHORITY, actor="bench")

    rows = [
        measure("GET item, anonymous", lambda: client.get(item), args.seconds),
        measure("GET item, bearer token", lambda: client.get(item, headers=bearer), args.seconds),
        measure("POST /oauth/token", get_token, args.seconds),
        measure("write path, direct", direct_write, args.seconds),
        measure("POST /authorities (API)", api_post, args.seconds),
        measure("PATCH with If-Match (API)", api_patch, args.seconds),
    ]
    baselines = {"GET item, bearer token": "GET item, anonymous", "POST /authorities (API)": "write path, direct",
                 "PATCH with If-Match (API)": "write path, direct"}
    by_name = {r["name"]: r for r in rows}
    print(f"{'measurement':<28} {'ops/s':>8} {'p50 ms':>8} {'p99 ms':>8}  vs baseline")
    for r in rows:
        base = baselines.get(r["name"])
        ratio = f"{r['ops'] / by_name[base]['ops']:.2f} of '{base}'" if base else ""
        print(f"{r['name']:<28} {r['ops']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f}  {ratio}")


if __name__ == "__main__":
    main()
