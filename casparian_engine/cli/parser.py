"""``casparian parser …``: register a parser as a hashed bundle; list, show and export bundles."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape

from ..errors import describe
from .common import console, fail, folding_table, local_time, open_workspace, print_json

parser_app = typer.Typer(
    name="parser",
    help=(
        "Registered parsers: immutable, hashed source bundles with their [bold]uv.lock[/] and "
        "contracts. Register once; the worker pool runs the registered bundle."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@parser_app.command("register")
def register_command(
    ctx: typer.Context,
    path: Path = typer.Argument(
        ..., help="Parser folder, a .py file in it, or a bundle .zip from `parser export`."
    ),
    allow: list[str] = typer.Option(
        [],
        "--allow",
        help="Accept one gatekeeper rule for this parser (repeatable), e.g. --allow network. "
        "Recorded in the audit trail.",
    ),
    policy: str | None = typer.Option(
        None,
        "--policy",
        help="Gatekeeper policy for this registration: strict (refuse findings) or warn "
        "(record them). Default: the gatekeeper_policy setting.",
        show_default=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Bundle a parser's source (with its [bold]uv.lock[/]), lint it, hash it and store it."""
    with open_workspace(ctx) as workspace:
        try:
            result = workspace.parsers.register(path, allow=tuple(allow), policy=policy)
        except ValueError as exc:
            fail(f"register {path}: {describe(exc)}")  # the message names files in the folder
        record = workspace.parsers.get(result.name, result.version)
        selects = record is not None and bool(record.tags or record.patterns)
        no_match = (
            None
            if selects
            else f"{result.name} {result.version} matches no files: declare tags or patterns "
            'in the parser (e.g. tags = ["invoices"] or patterns = ["invoices/**/*.csv"])'
        )
        if as_json:
            print_json(
                {
                    "name": result.name,
                    "version": result.version,
                    "identity": result.identity,
                    "bundle_sha256": result.bundle_sha256,
                    "created": result.created,
                    "gatekeeper": result.verdict.as_dict(),
                    "excluded": list(result.excluded),
                    "warnings": [no_match] if no_match else [],
                }
            )
            return
        console.print(result.message, highlight=False)
        if no_match:
            console.print(f"[yellow]warning:[/] {escape(no_match)}", highlight=False)
        for finding in result.verdict.warned:
            console.print(f"[yellow]warning:[/] {escape(finding.message)}", highlight=False)
        for finding in result.verdict.allowed:
            console.print(f"[cyan]allowed:[/] {escape(finding.message)}", highlight=False)
        if result.excluded:
            console.print(
                f"not bundled (not source): {', '.join(result.excluded)}", highlight=False
            )


NO_MATCH = "(none: this parser matches no files)"


@parser_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the parsers as JSON."),
) -> None:
    """List registered parser versions."""

    with open_workspace(ctx) as workspace:
        records = workspace.parsers.list()
        paused = {h.parser_name: h.pause_note for h in workspace.parsers.paused()}
    if as_json:
        print_json([{**r.as_dict(), "paused": paused.get(r.name)} for r in records])
        return
    if not records:
        console.print("no parsers registered: `casparian parser register <folder>`")
        return
    table = folding_table("name", "version", "identity", "outputs", "registered", "by")
    for record in records:
        table.add_row(
            record.name,
            record.version,
            record.identity_hash[:16],
            ", ".join(record.outputs) or "-",
            local_time(record.registered_at, with_seconds=False),
            record.registered_by,
        )
    console.print(table)
    for name, note in sorted(paused.items()):
        console.print(f"{name}: {note}", highlight=False, markup=False, soft_wrap=True)


@parser_app.command("show")
def show_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Parser name."),
    version: str | None = typer.Option(None, "--version", help="Version (default: highest)."),
    as_json: bool = typer.Option(False, "--json", help="Print the parser as JSON."),
) -> None:
    """Show one registered parser: hashes, contracts, gatekeeper findings."""
    with open_workspace(ctx) as workspace:
        record = workspace.parsers.get(name, version)
        health = workspace.parsers.health(name)
    if record is None:
        fail(f"no parser '{name}'{f' version {version}' if version else ''} is registered")
    pause_note = health.pause_note if health is not None else None
    if as_json:
        print_json({**record.as_dict(), "paused": pause_note})
        return
    console.print(f"[bold]{record.name}[/] {record.version}", highlight=False)
    if pause_note:
        console.print(f"  {pause_note}", highlight=False, markup=False, soft_wrap=True)
    empty = "-" if record.tags or record.patterns else NO_MATCH
    for label, value in (
        ("identity", record.identity_hash),
        ("bundle sha256", record.bundle_sha256),
        ("lockfile sha256", record.lockfile_hash),
        ("source", record.source_path or "-"),
        ("tags", ", ".join(record.tags) or empty),
        ("patterns", ", ".join(record.patterns) or empty),
        ("registered", f"{time.ctime(record.registered_at)} by {record.registered_by}"),
        ("gatekeeper", record.gatekeeper.get("policy", "-")),
    ):
        console.print(f"  {label:<16} {value}", highlight=False)
    for output, contract_file in record.outputs.items():
        console.print(f"  output {output}: contract {contract_file or '(none)'}", highlight=False)
    for contract in record.contracts:
        console.print(f"  contract {contract['file']}: {contract['sha256']}", highlight=False)
    for kind in ("warned", "allowed"):
        for finding in record.gatekeeper.get(kind, []):
            console.print(f"  {kind}: {escape(finding['message'])}", highlight=False)


@parser_app.command("export")
def export_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Parser name."),
    dest: Path = typer.Argument(..., help="Folder (or .zip file name) to write the bundle to."),
    version: str | None = typer.Option(None, "--version", help="Version (default: highest)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write a registered bundle as a ZIP (verified first) that `parser register` accepts."""
    with open_workspace(ctx) as workspace:
        try:
            target = workspace.parsers.export(name, dest, version)
        except ValueError as exc:
            fail(exc)
        record = workspace.parsers.get(name, version)
    assert record is not None
    if as_json:
        print_json({"path": str(target), **record.as_dict()})
        return
    console.print(f"exported {name} {record.version} to {target}", highlight=False)


# --- Operations on registered parsers (e.g. `parser resume <name>`) go below this line. ---
# Add each as `@parser_app.command("…")`; `register` below attaches the whole group.


def register(app: typer.Typer) -> None:
    app.add_typer(parser_app, name="parser")
