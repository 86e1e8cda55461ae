"""``casparian audit …``: read the audit trail, export an evidence manifest, verify one."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from .common import console, fail, folding_table, local_time, open_workspace, print_json

audit_app = typer.Typer(
    name="audit",
    help=(
        "The audit trail: who registered, approved, ran, replayed or resumed what, when, with "
        "which hashes. Without a subcommand, list the newest entries."
    ),
    invoke_without_command=True,
    rich_markup_mode="rich",
)


@audit_app.callback()
def audit_list(
    ctx: typer.Context,
    action: str | None = typer.Option(
        None, "--action", help="Only entries of this action, e.g. parser.registered."
    ),
    containing: str | None = typer.Option(
        None, "--containing", help="Only entries whose action, user or subject contains this."
    ),
    since: str | None = typer.Option(
        None, "--since", help="From this local date (YYYY-MM-DD or 'YYYY-MM-DD HH:MM')."
    ),
    until: str | None = typer.Option(
        None, "--until", help="To this local date, included (YYYY-MM-DD or 'YYYY-MM-DD HH:MM')."
    ),
    limit: int = typer.Option(50, "--limit", min=1, help="How many entries, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print the entries as JSON."),
) -> None:
    """List audit entries, newest first."""
    from ..local_dates import parse_local_date

    if ctx.invoked_subcommand is not None:
        return
    try:
        since_at = parse_local_date(since or "", "--since")
        until_at = parse_local_date(until or "", "--until", end_of_day=True)
    except ValueError as exc:
        fail(exc, code=2)
    with open_workspace(ctx) as workspace:
        entries = workspace.audit.entries(
            action=action,
            limit=limit,
            containing=containing or None,
            since=since_at,
            until=until_at,
        )
    if as_json:
        print_json(
            [
                {
                    "id": e.id,
                    "at": e.at,
                    "os_user": e.os_user,
                    "action": e.action,
                    "subject": e.subject,
                    "details": e.details,
                }
                for e in entries
            ]  # fmt: skip
        )
        return
    if not entries:
        console.print("the audit trail is empty")
        return
    table = folding_table("id", "time", "user", "action", "subject")
    for entry in entries:
        table.add_row(
            str(entry.id), local_time(entry.at), entry.os_user, entry.action, entry.subject
        )
    console.print(table)


@audit_app.command("export")
def export_command(
    ctx: typer.Context,
    dest: Path = typer.Argument(..., help="Folder to write the evidence manifest into."),
    as_json: bool = typer.Option(False, "--json", help="Print counts as JSON."),
) -> None:
    """Write an evidence manifest: inputs, parser identities, contracts, jobs, outputs, hashes."""
    with open_workspace(ctx) as workspace:
        try:
            manifest = workspace.audit.export(dest)
        except (OSError, ValueError) as exc:
            fail(exc)
    counts = {k: len(manifest[k]) for k in ("parsers", "inputs", "jobs", "outputs", "audit")}
    if as_json:
        print_json({"path": str(dest), **counts})
        return
    listed = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    console.print(f"evidence written to {dest} ({listed})", highlight=False)
    console.print(f"check it any time with: casparian audit verify {dest}", highlight=False)


@audit_app.command("verify")
def verify_command(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="A folder written by `casparian audit export`."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Recompute every hash in an evidence manifest; exit 1 if anything no longer matches."""
    with open_workspace(ctx) as workspace:
        check = workspace.audit.verify(folder)
    if as_json:
        print_json({"ok": check.ok, "checked": check.checked, "problems": list(check.problems)})
    elif check.ok:
        console.print(f"verified: {check.checked} hashes match", highlight=False)
    else:
        for problem in check.problems:
            console.print(f"[red]mismatch:[/] {escape(problem)}", highlight=False)
    if not check.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
