"""The `registry` command."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from registry import create_app
from registry.config import ConfigError
from registry.progress import Reporter


def _create_app():
    try:
        return create_app()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def cli():
    """Contact-point registry: directory of authorities and contact points in criminal matters."""


def _ctx():
    return current_app.extensions["registry"]


@cli.group()
def db():
    """Database schema."""


@db.command("upgrade")
def db_upgrade():
    """Create or migrate the database schema to the latest Alembic revision; builds the SQL search index when
    records exist but it is empty (after upgrading an older database)."""
    from registry import migrations
    from registry.search.sql import rebuild_if_empty

    migrations.upgrade(_ctx().settings.database_url)
    click.echo(f"database at revision {', '.join(migrations.current_heads(_ctx().settings.database_url))}")
    built = rebuild_if_empty(_ctx().db)
    if built is not None:
        click.echo(f"search index built: {built} documents")
    from registry.services.records import sign_unsigned

    ctx = _ctx()
    with ctx.db.write() as session:
        signed = sign_unsigned(session, ctx.settings.node_id, ctx.record_keys.signing_keys())
    if signed:
        click.echo(f"change log: {signed} entries of {ctx.settings.node_id} signed")
    from registry.services.arrivals import record_arrivals_if_empty

    with ctx.db.write() as session:
        arrived = record_arrivals_if_empty(session)
    if arrived:
        click.echo(f"arrival log: {arrived} records entered for partner feeds")


@cli.command()
def reindex():
    """Rebuild the search index from the records and print its status. SQL backends: in one transaction.
    Elasticsearch: a new index is built beside the live one, the alias is swapped in one step (searches never
    see a half-built index), the old index is deleted, and the changes made meanwhile are caught up from the
    change log."""
    search = _ctx().search
    with Reporter("reindex: records") as progress:
        count = search.rebuild(progress)
    click.echo(f"{search.name}: {count} documents indexed")
    click.echo(json.dumps(search.status(), indent=2))


@cli.command()
@click.option("--reset", is_flag=True,
              help="Put every seeded record back as shipped, over its publishers' changes and deletions "
                   "(a demonstration node only).")
def seed(reset):
    """Load the demonstration directory in `seed_data/` through the single write path, printing per record type how
    many were `written`, `unchanged`, `kept` (changed or deleted by their publishers since they were seeded:
    theirs now, left alone) and `foreign` (held as another origin's copy). Idempotent: a second run adds no
    versions and no change-log rows. A newer demonstration directory updates only the records still as seeded
    (`seeded_versions` remembers the version seeding wrote). `--reset` writes the shipped version over every
    seeded record, publishers' changes and deletions included (new versions, audited; for a demonstration node
    only)."""
    from registry.services.seed import seed as run_seed

    with Reporter("seed: records") as progress:
        report = run_seed(_ctx(), reset=reset, progress=progress)
    if reset:
        _audit("CLI", "seed --reset")
    for record_type, counts in report.as_dict().items():
        click.echo(f"{record_type}: " + ", ".join(f"{n} {outcome}" for outcome, n in counts.items()))


# Without an application in this process: gunicorn's workers make their own, after the metrics'
# storage is chosen.
@cli.command(with_appcontext=False)
@click.option("--host", help="Address to bind (default: REGISTRY_HOST).")
@click.option("--port", type=int, help="Port (default: REGISTRY_PORT).")
@click.option("--workers", type=int, help="Worker processes (default: REGISTRY_WORKERS).")
def serve(host, port, workers):
    """Serve with gunicorn (`--host`, `--port`, `--workers` override the settings). The gunicorn control socket is
    disabled."""
    from registry.config import Settings
    from registry.server import serve as run_server

    # The workers read their settings from the environment, the options included.
    for name, value in (("REGISTRY_HOST", host), ("REGISTRY_PORT", port), ("REGISTRY_WORKERS", workers)):
        if value:
            os.environ[name] = str(value)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    run_server(settings)


@cli.group()
def openapi():
    """The OpenAPI document."""


@openapi.command("write")
@click.argument("path", type=click.Path(dir_okay=False, writable=True), default="openapi.yaml")
def openapi_write(path):
    """Write the OpenAPI document generated from the code (default `openapi.yaml`)."""
    from registry.api.openapi import openapi_yaml

    with open(path, "w", encoding="utf-8") as out:
        out.write(openapi_yaml(current_app))
    click.echo(f"wrote {path}")


@openapi.command("examples")
def openapi_examples():
    """Capture an example of every operation from a fresh node seeded with the demonstration directory
    into registry/api/examples.json (then `make openapi` puts them in openapi.yaml)."""
    import tempfile

    from registry import create_app, migrations
    from registry.api import examples
    from registry.config import Settings

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/examples.sqlite3"
        migrations.upgrade(url)
        limits = {name: "100000/minute" for name in ("rate_limit_client", "rate_limit_address", "rate_limit_token")}
        app = create_app(Settings.from_env({}, database_url=url, instance_path=tmp,
                                           federation_allow_hosts="127.0.0.1", **limits))
        found = examples.capture(app)
    examples.write(found)
    click.echo(f"captured {len(found)} operations into {examples.EXAMPLES_FILE}")


@cli.command("config")
def show_config():
    """Print the effective settings as JSON."""
    import dataclasses

    json.dump(dataclasses.asdict(_ctx().settings), sys.stdout, indent=2)
    click.echo()


def _audit(method: str, route: str, record_id: str | None = None) -> None:
    """CLI actions go to the audit log too, as client `cli:<user>`."""
    import getpass

    from registry.services import audit

    audit.record(_ctx(), client_id=f"cli:{getpass.getuser()}"[:64], address=None, method=method, route=route,
                 status=200, record_id=record_id)


def _registry_errors(func):
    """A domain error (unknown scope, no such client) is a usage error with its message, not a traceback."""
    import functools

    from registry.errors import RegistryError

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RegistryError as exc:
            raise click.ClickException(exc.detail) from None

    return wrapper


@cli.group()
def clients():
    """OAuth2 clients (secretariats, partner systems, peer nodes)."""


@clients.command("create")
@click.option("--name", required=True, help="A unique name, e.g. casc-secretariat.")
@click.option("--scope", required=True, help='Space-separated scopes, e.g. "publish:casc directory:read".')
@_registry_errors
def clients_create(name, scope):
    """`--name NAME --scope "publish:casc directory:read"`: create an OAuth2 client and print its id and secret.
    The secret is shown only this once; only its SHA-256 is stored. An unknown scope is refused with the list of
    known ones."""
    from registry.auth.clients import create_client

    credentials = create_client(_ctx(), name, scope)
    _audit("CLI", "clients create", credentials.client.client_id)
    click.echo(f"client_id:     {credentials.client.client_id}")
    click.echo(f"client_secret: {credentials.client_secret}")
    click.echo(f"scope:         {credentials.client.scope}")
    click.echo("Store the secret now: only its hash is kept.", err=True)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def clients_list(as_json):
    """Every client: id, name, enabled or disabled, scopes (`--json` for JSON)."""
    from registry.auth.clients import list_clients

    found = list_clients(_ctx())
    if as_json:
        click.echo(json.dumps([c.as_dict() for c in found], indent=2))
        return
    for c in found:
        state = "disabled" if c.disabled else "enabled"
        click.echo(f"{c.client_id}  {c.name:<28} {state:<8}  {c.scope}")


@clients.command("disable")
@click.argument("client")
@_registry_errors
def clients_disable(client):
    """`CLIENT` (id or name): refuse its token requests and, at once, every token it already holds."""
    from registry.auth.clients import set_disabled

    info = set_disabled(_ctx(), client, True)
    _audit("CLI", "clients disable", info.client_id)
    click.echo(f"disabled {info.client_id} ({info.name})")


@clients.command("enable")
@click.argument("client")
@_registry_errors
def clients_enable(client):
    """`CLIENT`: let a disabled client obtain tokens again (tokens from before stay refused)."""
    from registry.auth.clients import set_disabled

    info = set_disabled(_ctx(), client, False)
    _audit("CLI", "clients enable", info.client_id)
    click.echo(f"enabled {info.client_id} ({info.name})")


@clients.command("rotate-secret")
@click.argument("client")
@_registry_errors
def clients_rotate_secret(client):
    """`CLIENT`: print a new secret; the old one, and tokens obtained with it, stop working at once."""
    from registry.auth.clients import rotate_secret

    credentials = rotate_secret(_ctx(), client)
    _audit("CLI", "clients rotate-secret", credentials.client.client_id)
    click.echo(f"client_id:     {credentials.client.client_id}")
    click.echo(f"client_secret: {credentials.client_secret}")


@cli.group()
def users():
    """People who sign in to the pages (editors, practitioners, admins): by invitation only."""


@users.command("invite")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              help="practitioner, editor:<network> or admin; repeat for several.")
@click.option("--network", help="For a practitioner: the network that vouches for them.")
@_registry_errors
def users_invite(email, roles, network):
    """Invite `EMAIL`: mail a single-use, expiring link (REGISTRY_SMTP_URL), and print it."""
    from registry.auth import people

    invited = people.invite(_ctx(), None, email, roles, sponsor_network=network)
    info = invited.invitation
    click.echo(f"invited {info.email} as {' '.join(info.roles)}; the link works once, until "
               f"{info.expires_at:%Y-%m-%d %H:%M} UTC")
    if info.mail_status == "sent":
        click.echo("mail: sent")
    else:
        click.echo(f"mail: {info.mail_status} ({info.mail_error}); re-send with `registry users resend {info.email}`",
                   err=True)
    click.echo(invited.link)


@users.command("resend")
@click.argument("email")
@_registry_errors
def users_resend(email):
    """Mail `EMAIL`'s open invitation again (after a mail failure)."""
    from registry.auth import people

    found = [i for i in people.list_invitations(_ctx(), open_only=True) if i.email == email.strip().lower()]
    if not found:
        raise click.ClickException(f"no open invitation for {email}; invite again")
    info = people.send_invitation(_ctx(), found[0].id)
    click.echo(f"mail: {info.mail_status}" + (f" ({info.mail_error})" if info.mail_error else ""))
    if info.mail_status != "sent":
        sys.exit(1)


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--invitations", is_flag=True, help="List the invitations instead of the accounts.")
def users_list(as_json, invitations):
    """Every account: e-mail, state (active, disabled, or what it still lacks), second factors, roles."""
    from registry.auth import people

    found = people.list_invitations(_ctx()) if invitations else people.list_people(_ctx())
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in found], indent=2))
        return
    for p in found:
        if invitations:
            click.echo(f"{p.email:<40} {p.state:<9} mail {p.mail_status:<9} {' '.join(p.roles)}")
            continue
        state = "disabled" if p.disabled else "active" if p.active else "enrolling"
        click.echo(f"{p.email:<40} {state:<9} {','.join(p.second_factors) or '-':<13} {' '.join(p.roles)}")


@users.command("disable")
@click.argument("email")
@_registry_errors
def users_disable(email):
    """Refuse `EMAIL`'s sign-ins and end its sessions at once."""
    from registry.auth import people

    click.echo(f"disabled {people.set_disabled(_ctx(), None, email, True).email}")


@users.command("enable")
@click.argument("email")
@_registry_errors
def users_enable(email):
    """Let a disabled account sign in again."""
    from registry.auth import people

    click.echo(f"enabled {people.set_disabled(_ctx(), None, email, False).email}")


@users.command("roles")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True, help="The account's roles from now on; repeat.")
@_registry_errors
def users_roles(email, roles):
    """Replace `EMAIL`'s roles (a role taken away ends its sessions)."""
    from registry.auth import people

    info = people.set_roles(_ctx(), None, email, roles)
    click.echo(f"{info.email}: {' '.join(info.roles)}")


@users.command("reset-second-factor")
@click.argument("email")
@_registry_errors
def users_reset_second_factor(email):
    """Remove `EMAIL`'s authenticator app, recovery codes and passkeys (a lost phone): the person enrols a new
    second factor at the next sign-in, and is signed out everywhere now."""
    from registry.auth import people

    click.echo(f"second factor reset for {people.reset_second_factor(_ctx(), None, email).email}; "
               "they enrol a new one at their next sign-in")


@cli.group()
def verify():
    """Verification rounds: ask each contact point by e-mail whether its record is still true."""


def _known_network(network: str) -> str:
    from registry.permissions import Caller
    from registry.services.networks import get_network

    return get_network(_ctx(), network, Caller(scopes=frozenset({"admin"})))["code"]


def _round_summary(result) -> None:
    click.echo(f"asked {len(result.asked)}, reminded {len(result.reminded)}, unanswered {len(result.unanswered)}, "
               f"bounced {len(result.bounced)}, not sent {len(result.failed)}, left for later {result.deferred}")
    for record_id in result.failed:
        click.echo(f"not sent: {record_id} (the next run tries again)", err=True)


@verify.command("run")
@click.option("--network", required=True, help="The network's code, e.g. casc.")
@click.option("--due-only", is_flag=True, help="Only ask the due contact points; send no reminder.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="When REGISTRY_VERIFY_RATE holds messages back, wait and send them in the following minutes.")
@_registry_errors
def verify_run(network, due_only, wait):
    """Send `--network`'s verification round: one message with a single-use link to each due contact point this
    node publishes (not to those being asked already), and the reminders that are due. Idempotent: a second
    run the same day sends nothing new."""
    import time

    from registry.services import verification

    network = _known_network(network)
    while True:
        result = verification.run(_ctx(), network, due_only=due_only)
        _round_summary(result)
        if not (result.deferred and wait):
            break
        time.sleep(60)


@verify.command("remind")
@click.option("--network", required=True, help="The network's code, e.g. casc.")
@_registry_errors
def verify_remind(network):
    """Remind `--network`'s open verification requests 14 and 28 days after their message, and mark those
    still silent 14 days after the second reminder unanswered."""
    from registry.services import verification

    _round_summary(verification.remind(_ctx(), _known_network(network)))


@verify.command("status")
@click.option("--network", required=True, help="The network's code, e.g. casc.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as GET /api/v1/networks/{code}/freshness).")
@_registry_errors
def verify_status(network, as_json):
    """How true `--network`'s directory is: its contact points confirmed, due, unanswered and bounced, then
    each, the least recently verified first."""
    from registry.permissions import Caller
    from registry.services import verification

    report = verification.freshness(_ctx(), Caller(scopes=frozenset({"admin"})), network)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    counts = report["counts"]
    click.echo(f"{report['network']}: {report['total']} contact points, " + ", ".join(
        f"{counts[s]} {s}" for s in verification.STATUSES) + f" (period {report['period_days']} days)")
    for s in report["contact_points"]:
        click.echo(f"{s['status']:<11} {s['verified_at'] or 'never':<10} {s['record_id']:<40} {s['email'] or '-'}")


@verify.command("bounces")
@_registry_errors
def verify_bounces():
    """Read the delivery-status notifications in REGISTRY_BOUNCE_MAILDIR and mark the verification messages
    that bounced (their contact points show as bounced)."""
    from registry.services import verification

    found = verification.read_bounces(_ctx())
    for bounce in found:
        click.echo(f"bounced: {bounce.record_id} {bounce.email} ({bounce.diagnostic})")
    click.echo(f"{len(found)} bounced")


@cli.group()
def keys():
    """The keys that sign access tokens and record envelopes."""


@keys.command("rotate")
@click.option("--record-signing", is_flag=True,
              help="Rotate the key that signs record envelopes instead (retired keys stay published).")
def keys_rotate(record_signing):
    """Sign new access tokens with a new key. The old key stays in the JWKS and keeps verifying until its last
    token has expired (TTL + leeway), then is dropped. Running workers pick the change up at once. With
    `--record-signing`: sign new record envelopes with a new key instead; retired record keys stay published at
    `/.well-known/registry-keys.json` for good, so every envelope ever signed keeps verifying."""
    store = _ctx().record_keys if record_signing else _ctx().token_keys
    retired, current = store.rotate()
    _audit("CLI", "keys rotate --record-signing" if record_signing else "keys rotate")
    click.echo(f"current key {current}" + (f"; {retired} retired" if retired else ""))


@cli.group("audit", invoke_without_command=True)
@click.option("--client", help="Only entries of this client id.")
@click.option("--person", help="Only entries of this person (account e-mail address).")
@click.option("--record", help="Only entries about this record id.")
@click.option("--outcome", type=click.Choice(["accepted", "refused"]), help="Only accepted or refused requests.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="Newest entries shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@click.pass_context
@with_appcontext
def audit_log(click_ctx, client, person, record, outcome, limit, as_json):
    """The audit log, newest first (`--client`, `--person`, `--record`, `--outcome accepted|refused`, `--limit`,
    `--json`)."""
    if click_ctx.invoked_subcommand is not None:
        return
    from registry.services import Page, audit

    wanted = audit.AuditFilters(client=client, person=person, record=record, outcome=outcome)
    for entry in audit.list_entries(_ctx(), wanted, Page(1, limit)).items:
        if as_json:
            click.echo(json.dumps(entry, ensure_ascii=False))
        else:
            click.echo(f"{entry['at']}  {entry['status']}  {entry['method']:<6} {entry['route']}  "
                       f"client={entry['client_id'] or '-'}"
                       + (f" person={entry['person']}" if entry["person"] else "")
                       + f" addr={entry['address'] or '-'}"
                       + (f"  x{entry['repeated']} until {entry['last_at']}" if entry["repeated"] > 1 else "")
                       + (f"  {entry['detail']}" if entry["detail"] else ""))


@audit_log.command("prune")
@click.option("--older-than-days", type=click.IntRange(0, None), required=True,
              help="Drop entries last seen more than this many days ago (0: every entry).")
def audit_prune(older_than_days):
    """`--older-than-days N`: drop audit entries last seen more than N days ago (0: all): the audit log's
    retention, run from cron like `registry log prune`. Audited itself."""
    from datetime import timedelta

    from registry.services import audit

    dropped = audit.prune(_ctx(), timedelta(days=older_than_days))
    _audit("CLI", f"audit prune --older-than-days {older_than_days}")
    click.echo(f"{dropped} audit entries dropped")


@cli.group("log")
def change_log():
    """The change log that feeds peers and the search outbox."""


@change_log.command("prune")
@click.option("--older-than-days", type=click.IntRange(0, None), required=True,
              help="Drop entries recorded more than this many days ago (0: every entry).")
def log_prune(older_than_days):
    """`--older-than-days N`: drop change-log entries recorded more than N days ago (0: all), a prefix per origin
    so the rest stays gap-free. Peers whose cursor is older then get 410 and bootstrap from the snapshot
    (records keep their current envelope). Run it from cron to bound the log."""
    from datetime import timedelta

    from registry.services.change_log import prune

    pruned = prune(_ctx(), timedelta(days=older_than_days))
    _audit("CLI", f"log prune --older-than-days {older_than_days}")
    for origin, count in sorted(pruned.items()):
        click.echo(f"{origin}: {count} entries dropped")


@cli.group()
def origins():
    """Origins whose records this node accepts (their id namespace and record keys)."""


@origins.command("trust")
@click.argument("node_id")
@click.option("--namespace", required=True, help="The id namespace the origin issues (ids are NAMESPACE:local-id).")
@click.option("--jwks-url", required=True, help="Where the origin publishes its record keys, "
              "e.g. https://casc.example.org/.well-known/registry-keys.json.")
@_registry_errors
def origins_trust(node_id, namespace, jwks_url):
    """`NODE_ID --namespace NS --jwks-url URL`: accept NODE_ID's records, whose ids are `NS:...`. Its record keys
    are fetched from URL now and pinned; trusting again re-fetches them."""
    from registry.federation.trust import trust_origin

    info = trust_origin(_ctx(), node_id, namespace, jwks_url)
    _audit("CLI", "origins trust", node_id)
    click.echo(f"trusted {info.node_id} for {info.namespace}:* with keys {', '.join(info.kids)}")


@origins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def origins_list(as_json):
    """Trusted origins: namespace, JWKS URL, pinned key ids (`--json`)."""
    from registry.federation.trust import list_trusted

    found = list_trusted(_ctx())
    if as_json:
        click.echo(json.dumps([t.as_dict() for t in found], indent=2))
        return
    for t in found:
        click.echo(f"{t.node_id:<20} {t.namespace:<20} {t.jwks_url}  keys={','.join(t.kids)}")


@origins.command("remove")
@click.argument("node_id")
@_registry_errors
def origins_remove(node_id):
    """`NODE_ID`: stop accepting its records (copies held stay, read-only; nothing more is pulled)."""
    from registry.federation.trust import untrust_origin

    untrust_origin(_ctx(), node_id)
    _audit("CLI", "origins remove", node_id)
    click.echo(f"no longer trusting {node_id}")


@cli.group()
def networks():
    """What a network's editors review."""


@networks.command("gaps")
@click.argument("network")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@_registry_errors
def networks_gaps(network, as_json):
    """Notes in force that send people to a kind of contact point (e.g. any 24/7 contact point) that a
    country of NETWORK does not have; exit status 1 when one is missing."""
    from registry.permissions import Caller
    from registry.services.coverage import gaps
    from registry.services.networks import resolve_network

    ctx = _ctx()
    code = resolve_network(ctx, network)
    # The node's operator reads what the network's editors read.
    found = gaps(ctx, code, Caller(client_id="cli", scopes=frozenset({f"publish:{code}"})))
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
    for note in [] if as_json else found["notes"]:
        where = ", ".join(f"{m['country']} ({m['name']})" for m in note["missing"]) or "none missing"
        click.echo(f"{note['note_id']} refers to {note['refers_to_role']} contact points"
                   f"{' in ' + note['network'] if note['network'] else ''}: {where}")
    if any(note["missing"] for note in found["notes"]):
        raise SystemExit(1)


@cli.group()
def peers():
    """Nodes this node pulls from, with the client credentials each issued to this node."""


@peers.command("add")
@click.argument("name")
@click.option("--url", required=True, help="The peer's base URL, e.g. https://casc.example.org.")
@click.option("--client-id", required=True, help="The client id the peer issued to this node.")
@click.option("--client-secret", required=True, envvar="REGISTRY_PEER_CLIENT_SECRET",
              help="Its secret (or set REGISTRY_PEER_CLIENT_SECRET, to keep it out of the shell history).")
@_registry_errors
def peers_add(name, url, client_id, client_secret):
    """`NAME --url URL --client-id ID --client-secret SECRET` (or `REGISTRY_PEER_CLIENT_SECRET` in the
    environment): pull from the node at URL with the client credentials it issued to this node. The secret is
    stored encrypted with `instance/keys/stored-secrets.key`."""
    from registry.federation.peers import add_peer

    info = add_peer(_ctx(), name, url, client_id, client_secret)
    _audit("CLI", "peers add", name)
    click.echo(f"added peer {info.name} at {info.url}")


@peers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def peers_list(as_json):
    """Peers: name, URL, client id, never the secret (`--json`)."""
    from registry.federation.peers import list_peers

    found = list_peers(_ctx())
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in found], indent=2))
        return
    for p in found:
        click.echo(f"{p.name:<20} {p.url}  client_id={p.client_id}")


@peers.command("remove")
@click.argument("name")
@_registry_errors
def peers_remove(name):
    """`NAME`: stop pulling from it (copies it brought stay)."""
    from registry.federation.peers import remove_peer

    remove_peer(_ctx(), name)
    _audit("CLI", "peers remove", name)
    click.echo(f"removed peer {name}")


@cli.group(invoke_without_command=True)
@click.option("--once", is_flag=True, help="One round over the peers, then exit (status 1 if an origin failed).")
@click.option("--watch", is_flag=True, help="Rounds every REGISTRY_SYNC_INTERVAL seconds until SIGTERM or SIGINT, "
              "each followed by a round of webhook deliveries (as `registry deliver --once`).")
@click.option("--origin", "only", multiple=True, help="Only this origin (repeatable).")
@click.option("--rebootstrap", is_flag=True, help="With --once and --origin: take the origin's snapshot again "
              "even with a cursor, overwriting copies that differ from the origin's versions (after this node's "
              "copy was damaged or restored from a backup).")
@click.option("--json", "as_json", is_flag=True, help="Print each origin's report as a JSON line.")
@click.pass_context
@with_appcontext
def sync(click_ctx, once, watch, only, rebootstrap, as_json):
    """`--once`: one round over the peers, printing a line per origin, exit status 1 if an origin failed.
    `--watch`: a round every `REGISTRY_SYNC_INTERVAL` seconds until SIGTERM/SIGINT (it finishes the page it is
    on); failing origins are put off with backoff. `--origin NODE_ID` (repeatable) limits the round; `--json`
    prints reports as JSON lines."""
    if click_ctx.invoked_subcommand is not None:
        return
    if once == watch:
        raise click.UsageError("give --once or --watch (or a subcommand: status, quarantine)")
    if rebootstrap and not (once and only):
        raise click.UsageError("--rebootstrap needs --once and the --origin to take again")

    from registry.federation import puller

    def show(reports):
        for report in reports:
            click.echo(json.dumps(report.as_dict()) if as_json else _report_line(report))

    from registry.federation.peers import list_peers

    if not list_peers(_ctx()):
        click.echo("no peers to pull from: add one with `registry peers add NAME --url URL --client-id ID "
                   "--client-secret SECRET`", err=True)
    if once:
        with _bootstrap_progress() as progress_of:
            reports = puller.sync_once(_ctx(), only=set(only) or None, progress_of=progress_of,
                                       rebootstrap=rebootstrap)
        show(reports)
        sys.exit(1 if any(r.error for r in reports) else 0)
    from registry.services.deliveries import deliver_once

    def round_done(reports):
        show(reports)
        # A node that syncs in the background notifies its subscribers too: no second loop to run.
        for attempt in deliver_once(_ctx()):
            click.echo(json.dumps(attempt.as_dict()) if as_json else _attempt_line(attempt))

    with _bootstrap_progress() as progress_of:
        puller.watch(_ctx(), on_round=round_done, stop=_stop_on_signals(), progress_of=progress_of,
                     **_announcements("registry sync --watch"))


def _report_line(report) -> str:
    if report.skipped:
        return f"{report.origin}: skipped, {report.skipped}"
    counts = ", ".join(f"{v} {k}" for k, v in report.counts.items() if v)
    cursor = "no cursor yet" if report.cursor is None else f"cursor {report.cursor}"
    line = f"{report.origin} from {report.source}: " + ("bootstrapped, " if report.bootstrapped else "") + \
        f"{report.pages} pages, {counts or 'nothing new'}; {cursor}"
    line += f"; warning: {report.warning}" if report.warning else ""
    return line + (f"; FAILED: {report.error}" if report.error else "")


@sync.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def sync_status(as_json):
    """Per origin: trusted or not, source peer, cursor, lag in records and seconds, counts of applied, duplicate,
    stale, quarantined and refused versions, last success, last error (`--json`)."""
    from registry.federation.status import sync_status as status

    found = status(_ctx())
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for s in found:
        counts = " ".join(f"{k}={v}" for k, v in s["counts"].items())
        click.echo(f"{s['origin']:<16} {'trusted' if s['trusted'] else 'UNTRUSTED':<9} source={s['source'] or '-'} "
                   f"cursor={s['cursor']} lag={s['lag_records']} records/{s['lag_seconds']} s "
                   f"checkpoint={s['checkpoint_seq']}" + (" STALE" if s["checkpoint_stale"] else "")
                   + (" matched" if s["checkpoint_matched"] else "") +
                   f" last_success={s['last_success_at'] or '-'} {counts}"
                   + (f"\n    last error ({s['last_error_at']}): {s['last_error']}" if s["last_error"] else ""))


@sync.command("quarantine")
@click.option("--origin", help="Only items of this origin.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Newest items shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines (with the envelopes).")
def sync_quarantine(origin, limit, as_json):
    """Versions held back (equivocation, a body this node cannot hold), newest first, with the reason (`--origin`,
    `--limit`, `--json` with the envelopes)."""
    from registry.federation.status import quarantine

    for item in quarantine(_ctx(), origin, limit):
        if as_json:
            click.echo(json.dumps(item))
        else:
            click.echo(f"{item['received_at']}  {item['origin']} seq {item['seq']}  {item['record_id']} "
                       f"v{item['version']}  from {item['source']}: {item['reason']}")


@cli.command("mirror", with_appcontext=False)
@click.argument("url")
@click.option("--client-id", required=True, help="The client id the node issued to you.")
@click.option("--client-secret", required=True, envvar="REGISTRY_MIRROR_CLIENT_SECRET",
              help="Its secret (or set REGISTRY_MIRROR_CLIENT_SECRET).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the copy (mirror.sqlite3 is kept there).")
@click.option("--trust", multiple=True, metavar="ORIGIN=JWKS_URL",
              help="Keys of an origin other than the node itself, to verify its records (repeatable).")
@click.option("--scope", help="Scopes to ask for (default: all the client holds).")
@click.option("--allow-host", "allow_hosts", multiple=True, envvar="REGISTRY_FEDERATION_ALLOW_HOSTS",
              help="A private or loopback host the node may be at, e.g. 127.0.0.1 (repeatable).")
@click.option("--timeout", type=click.IntRange(1, 600), default=30, show_default=True, help="Seconds per request.")
@click.option("--watch", is_flag=True, help="Keep following the node until SIGTERM or SIGINT.")
@click.option("--interval", type=click.IntRange(1, 86400), default=60, show_default=True,
              help="Seconds between two runs with --watch.")
def mirror(url, client_id, client_secret, out, trust, scope, allow_hosts, timeout, watch, interval):
    """`URL --client-id ID --client-secret SECRET --out DIR`: the reference partner client. Keeps a copy of the
    node's directory in `DIR/mirror.sqlite3`: bootstraps from `/feeds/directory.ndjson`, follows
    `/feeds/changes`, and verifies every record's envelope with its origin's keys (the node's own from its
    metadata; others with `--trust ORIGIN=JWKS_URL`). A record that does not verify stops the run before the
    cursor moves; records served without an envelope (a client below `directory:restricted`) are kept marked
    unverified. `--watch`, `--interval`, `--allow-host 127.0.0.1` for a local node, `--scope`, `--timeout`.
    Needs no database of its own."""

    from registry.mirror import Mirror, MirrorError
    from registry.mirror import watch as watch_mirror
    from registry.outbound import Outbound

    origins = {}
    for entry in trust:
        origin, _, jwks_url = entry.partition("=")
        if not jwks_url:
            raise click.UsageError(f"--trust {entry!r}: give ORIGIN=JWKS_URL")
        origins[origin] = jwks_url
    hosts = ",".join(h for value in allow_hosts for h in value.split(","))
    copy = Mirror(url, client_id, client_secret, out, trust=origins, outbound=Outbound(hosts, timeout), scope=scope)

    def show(report):
        click.echo(("bootstrapped; " if report.bootstrapped else "") + f"{report.applied} applied "
                   f"({report.verified} verified, {report.unverified} without an envelope at your tier); "
                   f"{report.records} records of {', '.join(sorted(report.origins)) or 'no origin'}; "
                   f"cursor {report.cursor}")

    try:
        if not watch:
            show(copy.run_once())
            return
        watch_mirror(copy, interval, show, _stop_on_signals())
    except MirrorError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@click.option("--once", is_flag=True, help="One round of deliveries, then exit (status 1 if one failed).")
@click.option("--watch", is_flag=True, help="Rounds every REGISTRY_SYNC_INTERVAL seconds until SIGTERM or SIGINT.")
@click.option("--json", "as_json", is_flag=True, help="Print each attempt as a JSON line.")
def deliver(once, watch, as_json):
    """`--once`: one round of webhook deliveries (each due subscription with new changes gets one notification or
    its pending retry), a line per attempt, exit status 1 if one failed. `--watch`: a round every
    `REGISTRY_SYNC_INTERVAL` seconds until SIGTERM/SIGINT, one such loop per database: started on several hosts,
    one works and the others stand by and take over within a second of its end. `--json` prints attempts as JSON
    lines. `registry sync --watch` also runs a round after each sync round."""
    if once == watch:
        raise click.UsageError("give --once or --watch")

    from registry.services import deliveries

    def show(attempts):
        for attempt in attempts:
            click.echo(json.dumps(attempt.as_dict()) if as_json else _attempt_line(attempt))

    if once:
        attempts = deliveries.deliver_once(_ctx())
        show(attempts)
        sys.exit(1 if any(not a.delivered for a in attempts) else 0)
    deliveries.watch(_ctx(), on_round=show, stop=_stop_on_signals(), **_announcements("registry deliver --watch"))


@contextlib.contextmanager
def _bootstrap_progress():
    """A `progress_of(origin)` for the puller: the progress of each origin's bootstrap on standard error."""
    reporters: dict[str, Reporter] = {}

    def progress_of(origin: str) -> Reporter:
        if origin in reporters:  # the origin's previous round (`--watch`)
            reporters[origin].close()
        reporters[origin] = Reporter(f"bootstrap of {origin}: records")
        return reporters[origin]

    try:
        yield progress_of
    finally:
        for reporter in reporters.values():
            reporter.close()


def _stop_on_signals():
    """A `stop()` for a watch loop: true once SIGTERM or SIGINT came (the loop ends between two steps)."""
    import signal

    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    return lambda: bool(stopping)


def _announcements(command: str) -> dict:
    """What a watch loop says on standard error when it stands by and when it starts working."""
    return {"on_standby": lambda: click.echo(f"another `{command}` works on this database; standing by to take "
                                             "over when it stops", err=True),
            "on_lead": lambda: click.echo(f"`{command}` is the one working on this database (others stand by)",
                                          err=True)}


def _attempt_line(attempt) -> str:
    line = f"{attempt.subscription_id} -> {attempt.url}: {attempt.count} changes, attempt {attempt.attempt}, "
    if attempt.delivered:
        return line + f"delivered ({attempt.status}, {attempt.duration_ms} ms)"
    line += f"FAILED: {attempt.error}"
    if attempt.disabled_reason:
        return line + "; subscription disabled"
    if attempt.next_attempt_at:
        return line + f"; next attempt at {attempt.next_attempt_at.isoformat(timespec='seconds')}"
    return line


@cli.group()
def subscriptions():
    """Webhook subscriptions of partner systems (they manage their own over the API)."""


@subscriptions.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def subscriptions_list(as_json):
    """Every webhook subscription: id, client, URL, active or disabled (with the reason), failures, cursor; never a
    secret (`--json`)."""
    from registry.services.subscriptions import all_subscriptions

    found = all_subscriptions(_ctx())
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for s in found:
        state = "active" if s["active"] else f"DISABLED ({s['disabled_reason']})"
        click.echo(f"{s['id']}  client={s['client_id']}  {s['url']}  {state}  failures={s['failures']}  "
                   f"cursor={s['cursor']}")


def main() -> None:
    cli(prog_name="registry")
