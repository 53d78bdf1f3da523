"""The reference tables of the documentation, generated from the code so that they cannot drift: the
settings (from `registry.config.Settings`), the roles of people (from `registry.permissions`) and the
commands (from the `registry` command's help texts).
`make docs` writes them into the Markdown files between cog markers; a test checks they are current."""

from __future__ import annotations

import dataclasses
import tempfile

import click
from flask.cli import ScriptInfo

from registry import create_app
from registry.cli import cli
from registry.config import Settings

# Commands that come with a Flask extension: their help is not ours to write.
EXTENSION_COMMANDS = {
    "registry limiter limits": "The rate limits in force per route (from flask-limiter).",
    "registry limiter config": "flask-limiter's effective configuration (storage, strategy).",
    "registry limiter clear": "`--key KEY`: reset the counters of one key (`client:<id>` or an IP address), e.g. "
                              "to unblock a client at once; with `memory://` storage only the CLI's own process is "
                              "affected, so use it with Redis storage.",
}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def roles_table() -> str:
    from registry.permissions import ROLE_HELP, ROLES

    rows = ["| Role | Scopes it stands for | Who |", "|---|---|---|"]
    for role, scopes in ROLES.items():
        rows.append(f"| `{role}` | {', '.join(f'`{s}`' for s in scopes)} | {_cell(ROLE_HELP[role])} |")
    return "\n".join(rows)


def settings_table() -> str:
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for f in dataclasses.fields(Settings):
        rows.append(f"| `{f.metadata['env']}` | {f.metadata['shown']} | {_cell(f.metadata['help'])} |")
    return "\n".join(rows)


def commands() -> list[tuple[str, str]]:
    """Every command path with its help, in the order `registry --help` lists them, depth first. The
    extensions' commands are listed by an application made for it, in a folder thrown away after."""
    found = []

    def walk(group: click.Group, prefix: str, obj=None) -> None:
        context = click.Context(group, obj=obj)
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            path = f"{prefix} {name}"
            if not isinstance(command, click.Group) or command.invoke_without_command:
                found.append((path, EXTENSION_COMMANDS.get(path) or command.help or ""))
            if isinstance(command, click.Group):
                walk(command, path)

    with tempfile.TemporaryDirectory() as instance:
        made = []

        def make_app():
            made.append(create_app(Settings.from_env({}, instance_path=instance)))
            return made[-1]

        walk(cli, "registry", ScriptInfo(create_app=make_app))
        for app in made:
            app.extensions["registry"].db.dispose()
    return found


def commands_table() -> str:
    rows = ["| Command | What it does |", "|---|---|"]
    rows += [f"| `{path}` | {_cell(text)} |" for path, text in commands()]
    return "\n".join(rows)


def holiday_countries() -> str:
    """The countries whose public holidays close contact points' regular hours (the `holidays` package)."""
    import holidays

    from registry.config import PROJECT_ROOT
    from registry.taxonomy import load_taxonomy

    covered = set(holidays.list_supported_countries())
    codes = sorted(load_taxonomy(str(PROJECT_ROOT / "seed_data")).countries.by_code)
    known = [code for code in codes if code in covered]
    others = [code for code in codes if code not in covered]
    listed = f"Covered by holidays {holidays.__version__} ({len(known)} of {len(codes)}): {', '.join(known)}."
    if others:
        listed += f"\n\nNot covered ({len(others)}): {', '.join(others)}."
    return listed
