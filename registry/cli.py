"""The `registry` command."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup

from registry import create_app
from registry.config import ConfigError


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
    """Create or migrate the database schema to the latest revision."""
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


@cli.command()
def reindex():
    """Rebuild the search index from the records (Elasticsearch: a new index, then an alias swap)."""
    search = _ctx().search
    count = search.rebuild()
    click.echo(f"{search.name}: {count} documents indexed")
    click.echo(json.dumps(search.status(), indent=2))


@cli.command()
def seed():
    """Load the demonstration directory in seed_data/ (idempotent: unchanged records are skipped)."""
    from registry.services.seed import seed as run_seed

    report = run_seed(_ctx())
    for record_type, counts in report.as_dict().items():
        click.echo(f"{record_type}: {counts['written']} written, {counts['unchanged']} unchanged")


@cli.command()
@click.option("--host", help="Address to bind (default: REGISTRY_HOST).")
@click.option("--port", type=int, help="Port (default: REGISTRY_PORT).")
@click.option("--workers", type=int, help="Worker processes (default: REGISTRY_WORKERS).")
def serve(host, port, workers):
    """Serve the registry with gunicorn."""
    from registry.server import serve as run_server

    settings = _ctx().settings
    run_server(host or settings.host, port or settings.port, workers or settings.workers)


@cli.group()
def openapi():
    """The OpenAPI document."""


@openapi.command("write")
@click.argument("path", type=click.Path(dir_okay=False, writable=True), default="openapi.yaml")
def openapi_write(path):
    """Write the OpenAPI document generated from the code to PATH (default openapi.yaml)."""
    from registry.api.openapi import openapi_yaml

    with open(path, "w", encoding="utf-8") as out:
        out.write(openapi_yaml(current_app))
    click.echo(f"wrote {path}")


@cli.command("config")
def show_config():
    """Print the effective settings (as JSON)."""
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
    """Create a client and print its id and secret (the secret is shown only this once)."""
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
    """Every client: id, name, scopes, whether disabled."""
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
    """Refuse CLIENT's tokens from now on (by id or name), including tokens already issued."""
    from registry.auth.clients import set_disabled

    info = set_disabled(_ctx(), client, True)
    _audit("CLI", "clients disable", info.client_id)
    click.echo(f"disabled {info.client_id} ({info.name})")


@clients.command("enable")
@click.argument("client")
@_registry_errors
def clients_enable(client):
    """Let a disabled CLIENT obtain tokens again."""
    from registry.auth.clients import set_disabled

    info = set_disabled(_ctx(), client, False)
    _audit("CLI", "clients enable", info.client_id)
    click.echo(f"enabled {info.client_id} ({info.name})")


@clients.command("rotate-secret")
@click.argument("client")
@_registry_errors
def clients_rotate_secret(client):
    """Give CLIENT a new secret; the old one and its tokens stop working at once."""
    from registry.auth.clients import rotate_secret

    credentials = rotate_secret(_ctx(), client)
    _audit("CLI", "clients rotate-secret", credentials.client.client_id)
    click.echo(f"client_id:     {credentials.client.client_id}")
    click.echo(f"client_secret: {credentials.client_secret}")


@cli.group()
def keys():
    """The keys that sign access tokens and record envelopes."""


@keys.command("rotate")
@click.option("--record-signing", is_flag=True,
              help="Rotate the key that signs record envelopes instead (retired keys stay published).")
def keys_rotate(record_signing):
    """Sign new tokens with a new key; the old key verifies until its tokens expire."""
    store = _ctx().record_keys if record_signing else _ctx().token_keys
    retired, current = store.rotate()
    _audit("CLI", "keys rotate --record-signing" if record_signing else "keys rotate")
    click.echo(f"current key {current}" + (f"; {retired} retired" if retired else ""))


@cli.command("audit")
@click.option("--client", help="Only entries of this client id.")
@click.option("--record", help="Only entries about this record id.")
@click.option("--outcome", type=click.Choice(["accepted", "refused"]), help="Only accepted or refused requests.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="Newest entries shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def audit_log(client, record, outcome, limit, as_json):
    """The audit log, newest first: every write and refused write attempt."""
    from registry.services import Page, audit

    wanted = audit.AuditFilters(client=client, record=record, outcome=outcome)
    for entry in audit.list_entries(_ctx(), wanted, Page(1, limit)).items:
        if as_json:
            click.echo(json.dumps(entry, ensure_ascii=False))
        else:
            click.echo(f"{entry['at']}  {entry['status']}  {entry['method']:<6} {entry['route']}  "
                       f"client={entry['client_id'] or '-'} addr={entry['address'] or '-'}"
                       + (f"  {entry['detail']}" if entry["detail"] else ""))


def main() -> None:
    cli(prog_name="registry")
