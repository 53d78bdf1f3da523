"""What signing in costs, and what a console page costs beside the API call that reads the same record, in
one process on the seeded demonstration directory (SQLite), through Flask's test client (no network, no
gunicorn): medians and p90 over many repetitions, and the ratios.

    .venv/bin/python bench/people.py [--repeat 50]

Rows:
- Argon2id: hashing a password and checking one (argon2-cffi's defaults), the floor of a sign-in;
- sign-in: the two requests of a signing-in person (password, then an authenticator code), session
  rotation and audit entries included;
- the console's record page, its edit form and its list of a network's records, each beside the API call a
  client with the same scopes makes for the same data (`GET /api/v1/contact-points/<id>`, and the list of
  the network's contact points).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from questions import seeded_context  # noqa: E402

PASSWORD = "amber lantern under quiet rivers"


def timed(function, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        out.append((time.perf_counter() - started) * 1000)
    return out


def summary(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), statistics.quantiles(values, n=10)[8] if len(values) > 2 else max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    import pyotp
    from sqlalchemy import select

    from registry import create_app, models
    from registry.auth import passwords, people
    from registry.auth.clients import create_client

    with tempfile.TemporaryDirectory() as tmp:
        ctx = seeded_context(tmp)
        # Every repetition signs in from the same address: no throttling in the way of the measurement.
        app = create_app(dataclasses.replace(ctx.settings, sign_in_limit_account="1000000/minute",
                                             sign_in_limit_address="1000000/minute"))
        rows: list[tuple[str, list[float]]] = []

        stored = passwords.hash_password(PASSWORD)
        rows.append(("Argon2id hash", timed(lambda: passwords.hash_password(PASSWORD), args.repeat)))
        rows.append(("Argon2id check", timed(lambda: passwords.verify_password(stored, PASSWORD), args.repeat)))

        invited = people.invite(ctx, None, "bench.editor@example.org", ["editor:casc"])
        person = people.accept_invitation(ctx, invited.link.rsplit("/", 1)[1], PASSWORD)
        secret = pyotp.random_base32()
        people.enrol_totp(ctx, person.id, secret, pyotp.TOTP(secret).now())

        def token_of(page) -> str:
            return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)

        def sign_in():
            # A code is good once: each round clears the last step used, as a new 30-second step would.
            with ctx.db.write() as session:
                session.get(models.Person, person.id).totp_last_step = None
            client = app.test_client()
            token = token_of(client.get("/console/sign-in"))
            started = time.perf_counter()
            first = client.post("/console/sign-in", data={"csrf_token": token, "email": "bench.editor@example.org",
                                                          "password": PASSWORD})
            second = client.post("/console/sign-in/second-factor",
                                 data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
            elapsed = (time.perf_counter() - started) * 1000
            assert first.status_code == 303 and second.status_code == 303, second.get_data(as_text=True)[:300]
            return elapsed, client

        signs = [sign_in() for _ in range(max(5, args.repeat // 5))]
        rows.append(("sign-in (password + code)", [s[0] for s in signs]))
        console = signs[-1][1]

        credentials = create_client(ctx, "bench-casc", "publish:casc directory:restricted")
        api = app.test_client()
        answer = api.post("/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(credentials.client.client_id, credentials.client_secret))
        api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {answer.get_json()['access_token']}"

        with ctx.db.read() as session:
            rid = next(r.id for r in session.scalars(select(models.ContactPoint).where(
                models.ContactPoint.owner_network == "casc")) if r.body.get("kind") == "person")

        def get(client, path):
            return lambda: _ok(client.get(path), path)

        pairs = [
            ("console record page", get(console, f"/console/records/contact_point/{rid}"),
             "API GET the record", get(api, f"/api/v1/contact-points/{rid}")),
            ("console edit form", get(console, f"/console/records/contact_point/{rid}/edit"),
             "API GET the record", get(api, f"/api/v1/contact-points/{rid}")),
            ("console list of CASC records", get(console, "/console/networks/casc/records"),
             "API list of CASC contact points", get(api, "/api/v1/contact-points?network=casc&page_size=25")),
        ]
        ratios = []
        for page_name, page, api_name, call in pairs:
            page(), call()  # warm
            page_times, api_times = timed(page, args.repeat), timed(call, args.repeat)
            rows += [(page_name, page_times), (f"  {api_name}", api_times)]
            ratios.append((page_name, statistics.median(page_times) / statistics.median(api_times)))

    print(f"{'':<36}{'median ms':>10}{'p90 ms':>10}")
    for name, values in rows:
        median, p90 = summary(values)
        print(f"{name:<36}{median:>10.2f}{p90:>10.2f}")
    print()
    for name, ratio in ratios:
        print(f"{name}: {ratio:.2f}x its API call")


def _ok(response, path):
    assert response.status_code == 200, (path, response.status_code)
    return response


if __name__ == "__main__":
    main()
