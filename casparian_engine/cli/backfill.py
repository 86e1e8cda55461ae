"""``casparian backfill <parser>``: reprocess files an older parser version produced."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from .common import console, counted, fail, open_workspace, print_json

if TYPE_CHECKING:
    from ..backfill import BackfillPlan, BackfillResult


def backfill_command(
    ctx: typer.Context,
    parser: str = typer.Argument(..., help="The registered parser to backfill."),
    execute: bool = typer.Option(
        False, "--execute", help="Reprocess (default: only list the stale files)."
    ),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1, help="At most N files."),
    force: bool = typer.Option(
        False, "--force", help="Include files already processed by the current version."
    ),
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Worker processes."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List files whose outputs come from an older version of PARSER; with --execute, reprocess
    them into a staging folder and swap it in only when every file succeeded."""
    from ..backfill import BackfillError

    with open_workspace(ctx) as workspace:
        try:
            if not execute:
                _print_plan(workspace.outputs.backfill_plan(parser, limit, force), json_output)
                return
            result = workspace.outputs.backfill(parser, limit, force, workers)
        except BackfillError as exc:
            fail(exc)
    _print_result(result, json_output)
    if not result.swapped and result.reason != "nothing to backfill":
        raise typer.Exit(1)


def _print_plan(plan: BackfillPlan, json_output: bool) -> None:
    """The files a backfill would reprocess, each with the versions that processed it."""
    if json_output:
        print_json(
            {
                "parser": plan.parser_name,
                "current_version": plan.current_version,
                "files": [
                    {"path": f.path, "processed_versions": list(f.processed_versions)}
                    for f in plan.files
                ],
            }
        )
        return
    console.print(
        f"{counted(len(plan.files), 'file')} of parser '{plan.parser_name}' would be "
        f"reprocessed by version {plan.current_version}",
        highlight=False,
    )
    for stale in plan.files:
        versions = ", ".join(stale.processed_versions) or "-"
        console.print(f"  {stale.path} (processed by {versions})", highlight=False)


def _print_result(result: BackfillResult, json_output: bool) -> None:
    """Whether the backfill's outputs were swapped in, and why not when they were not."""
    if json_output:
        print_json(
            {
                "batch_id": result.batch_id,
                "swapped": result.swapped,
                "files": len(result.plan.files),
                "reason": result.reason,
                "output_dir": str(result.output_dir),
            }
        )
    elif result.swapped:
        console.print(
            f"backfilled {counted(len(result.plan.files), 'file')} with version "
            f"{result.plan.current_version}; {result.output_dir} now holds only its outputs",
            highlight=False,
        )
    else:
        console.print(
            f"[yellow]not swapped[/]: {result.reason}; the previous output is untouched",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("backfill")(backfill_command)
