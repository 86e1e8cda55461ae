"""``casparian vendor`` and ``casparian env …``: offline wheelhouse and parser environments."""

from __future__ import annotations

from typing import Any

import typer

from .common import console, counted, fail, open_workspace, print_json


def vendor(
    ctx: typer.Context,
    parser: str = typer.Argument(..., help="Registered parser name."),
    version: str | None = typer.Option(None, "--version", help="Version (default: highest)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Copy a parser's locked wheels into the home's [bold]wheelhouse[/] (needs network once).

    Afterwards `casparian env build <parser> --offline` builds its environment with no
    network at all.
    """
    with open_workspace(ctx) as workspace:
        try:
            result = workspace.parsers.vendor(parser, version)
        except (ValueError, RuntimeError) as exc:
            fail(exc)
    if as_json:
        print_json(
            {
                "wheelhouse": str(result.wheelhouse),
                "copied": list(result.copied),
                "already_present": list(result.already_present),
            }
        )
        return
    console.print(
        f"wheelhouse {result.wheelhouse}: {counted(len(result.copied), 'wheel')} added, "
        f"{len(result.already_present)} already present",
        highlight=False,
    )


env_app = typer.Typer(
    name="env",
    help="Parser environments: built with uv from each parser's lockfile, cached by its hash.",
    no_args_is_help=True,
)


@env_app.command("build")
def env_build(
    ctx: typer.Context,
    parser: str = typer.Argument(..., help="Registered parser name."),
    version: str | None = typer.Option(None, "--version", help="Version (default: highest)."),
    offline: bool = typer.Option(
        False, "--offline", help="Install only from the wheelhouse (see `casparian vendor`)."
    ),
) -> None:
    """Build (or reuse) the environment of a registered parser; prints its interpreter."""
    with open_workspace(ctx) as workspace:
        record = workspace.parsers.get(parser, version)
        if record is None:
            fail(f"no parser '{parser}' is registered")
        try:
            python = workspace.parsers.environment(record, offline=offline)
        except (ValueError, RuntimeError) as exc:
            fail(exc)
    typer.echo(str(python))  # plain, unwrapped: scripts use it


@env_app.command("list")
def env_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List built environments, least recently used first."""
    with open_workspace(ctx) as workspace:
        environments = workspace.parsers.envs.environments()
    rows: list[dict[str, Any]] = [
        {"lockfile_hash": e.lockfile_hash, "path": str(e.path), "last_used": e.last_used}
        for e in environments
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        console.print(f"{row['lockfile_hash'][:16]}  {row['path']}", highlight=False)


@env_app.command("clean")
def env_clean(
    ctx: typer.Context,
    keep: int = typer.Option(5, "--keep", min=0, help="How many recent environments stay."),
) -> None:
    """Remove the least recently used environments beyond --keep."""
    with open_workspace(ctx) as workspace:
        removed = workspace.parsers.envs.cleanup(keep)
    console.print(f"removed {counted(len(removed), 'environment')}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("vendor")(vendor)
    app.add_typer(env_app, name="env")
