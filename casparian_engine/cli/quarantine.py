"""`casparian quarantine`: list, show and replay rows that broke their contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ..source_lines import source_pointer
from .common import console, fail, open_workspace, plural, print_json

if TYPE_CHECKING:
    from ..quarantine_replay import ReplayPreview
    from ..workspace import QuarantineFilter

COUNT_CAP = 10_000  # `list` stops counting here: exact totals of millions cost a full scan

quarantine_app = typer.Typer(
    help="Rows that broke their contract, kept with reasons and lineage: list, show, replay.",
    no_args_is_help=True,
)


def _filter(
    job: int | None, parser: str | None, rule: str | None, replayed: bool = False
) -> QuarantineFilter:
    from ..workspace import QuarantineFilter

    return QuarantineFilter(job_id=job, parser_name=parser, rule=rule, include_replayed=replayed)


@quarantine_app.command("list")
def list_command(
    ctx: typer.Context,
    job: int | None = typer.Option(None, "--job", "-j", help="Only rows of this job."),
    parser: str | None = typer.Option(None, "--parser", "-p", help="Only rows of this parser."),
    rule: str | None = typer.Option(
        None, "--rule", "-r", help="Only rows breaking this rule ('cast' or 'cast:amount')."
    ),
    version: str | None = typer.Option(
        None, "--version", "-V", help="Only rows of this parser version (default: the current)."
    ),
    all_versions: bool = typer.Option(
        False, "--all-versions", help="Include rows of superseded parser versions."
    ),
    after: int = typer.Option(0, "--after", help="Start after this id (the last of a page)."),
    limit: int = typer.Option(50, "--limit", "-n", help="Rows per page."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One page of quarantined rows (keyset pagination: pass --after <last id> for the next).

    By default only rows of each parser's current registered version are listed."""
    from dataclasses import replace

    every = replace(_filter(job, parser, rule), parser_version=version)
    with open_workspace(ctx) as workspace:
        current = {p.name: p.version for p in workspace.parsers.list()}  # highest version last
        where = every
        if version is None and not all_versions and current:
            where = replace(every, current_versions=tuple(sorted(current.items())))
        rows = workspace.quarantine.list(where, after_id=after, limit=limit)
        total = workspace.quarantine.count(where, cap=COUNT_CAP) if not as_json else 0
        hidden = 0
        if where is not every and not as_json:
            hidden = workspace.quarantine.count(every, cap=COUNT_CAP + total) - total
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    counted = f"more than {COUNT_CAP:,}" if total > COUNT_CAP else f"{total:,}"
    console.print(
        f"{counted} quarantined {plural(total, 'row')}" + (f"; showing {len(rows)}" if rows else "")
    )
    if hidden > 0:
        console.print(
            f"{hidden:,} {plural(hidden, 'row')} of older versions hidden; --all-versions to show"
        )
    for r in rows:
        console.print(
            f"{r.id:>8}  job {r.job_id}  {r.parser_name} {r.parser_version}/{r.output_name}  "
            f"{r.source_path} {source_pointer(r.source_row, r.source_row_unit)}  {r.rules}",
            markup=False,
        )
    if rows and len(rows) == limit:
        console.print(f"next page: --after {rows[-1].id}")


@quarantine_app.command("show")
def show_command(
    ctx: typer.Context,
    quarantine_id: int = typer.Argument(..., help="Quarantined row id (from `list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One quarantined row: lineage, every violated rule with its reason, the original values."""
    with open_workspace(ctx) as workspace:
        row = workspace.quarantine.get(quarantine_id)
    if row is None:
        fail(f"no quarantined row with id {quarantine_id}")
    if as_json:
        print_json(row.to_dict())
        return
    pointer = source_pointer(row.source_row, row.source_row_unit)
    console.print(f"quarantined row {row.id}: {row.source_path} {pointer}", markup=False)
    console.print(
        f"job {row.job_id}, parser {row.parser_name} {row.parser_version}, output "
        f"{row.output_name}, source sha256 {row.source_hash}, "
        f"contract {row.contract_hash or '(none)'}",
        markup=False,
    )
    for violation in row.violations:
        # A parser-flagged row names no column: its reason is the parser's _cf_row_error text.
        rule = violation["rule"]
        where = f"{rule}:{violation['column']}" if violation.get("column") is not None else rule
        console.print(f"  {where}  {violation['reason']}", markup=False)
    for key, value in row.row_values.items():
        console.print(f"    {key} = {value!r}", markup=False)


@quarantine_app.command("replay")
def replay_command(
    ctx: typer.Context,
    job: int | None = typer.Option(None, "--job", "-j", help="Replay this job's rows."),
    parser: str | None = typer.Option(None, "--parser", "-p", help="Replay this parser's rows."),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Only count the rows that would pass and move, and those that would stay; write "
        "nothing.",
    ),
) -> None:
    """Re-validate against the current approved contract; move rows that now pass to the output."""
    if job is None and parser is None:
        fail("say which rows to replay: --job J or --parser P")
    with open_workspace(ctx) as workspace:
        if job is not None and workspace.jobs.get(job) is None:
            known = workspace.quarantine.count(_filter(job, None, None, replayed=True), cap=1)
            if not known:  # no such job, and no quarantined row names it either
                fail(f"no job {job}")
        if dry_run:
            _print_replay_preview(workspace.quarantine.preview_replay(_filter(job, parser, None)))
            return
        results = workspace.quarantine.replay(_filter(job, parser, None))
    if not results:
        console.print("Nothing to replay.")
    for r in results:
        if r.error is not None:
            console.print(
                f"{r.parser_name}/{r.output_name}: not replayed, {r.rows_checked} "
                f"{plural(r.rows_checked, 'row')} stay quarantined: {r.error}",
                markup=False,
            )
            continue
        console.print(
            f"{r.parser_name}/{r.output_name}: {r.rows_moved} of {r.rows_checked} "
            f"{plural(r.rows_checked, 'row')} now pass {r.contract_name} v{r.contract_version}; "
            f"{r.rows_still_quarantined} stay quarantined"
            + (f"; written to {r.output_file}" if r.output_file else ""),
            markup=False,
        )
    failed = [r for r in results if r.error is not None]
    if failed:
        fail(f"{len(failed)} of {len(results)} {plural(len(results), 'output')} could not replay")


def _print_replay_preview(previews: list[ReplayPreview]) -> None:
    """A dry run's counts per output; exit 1 when an output could not replay at all."""
    if not previews:
        console.print("Nothing to replay.")
    for p in previews:
        head = f"{p.parser_name}/{p.output_name}: "
        if p.error is not None and not p.contract_name:
            console.print(
                f"{head}would not replay, {p.rows_checked} {plural(p.rows_checked, 'row')} "
                f"would stay quarantined: {p.error}",
                markup=False,
            )
            continue
        console.print(
            f"{head}{p.rows_passing} of {p.rows_checked} {plural(p.rows_checked, 'row')} would "
            f"pass {p.contract_name} v{p.contract_version} and move; {p.rows_failing} would stay "
            "quarantined (dry run: nothing written)",
            markup=False,
        )
        if p.error is not None:
            console.print(f"{head}the replay would stop and move nothing: {p.error}", markup=False)
    failed = [p for p in previews if p.error is not None]
    if failed:
        fail(f"{len(failed)} of {len(previews)} {plural(len(previews), 'output')} could not replay")


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app, name="quarantine")
