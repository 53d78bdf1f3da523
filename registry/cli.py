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

    migrations.upgrade(_ctx().settings.database_url)
    click.echo(f"database at revision {', '.join(migrations.current_heads(_ctx().settings.database_url))}")


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


def main() -> None:
    cli(prog_name="registry")
