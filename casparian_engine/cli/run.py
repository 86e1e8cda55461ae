"""``casparian run`` (the parser dev loop) and ``casparian preview`` (look at a file first)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from .common import console, counted, err_console, fail, open_workspace, plural, print_json
from .doctor import warn_if_unsandboxed

if TYPE_CHECKING:
    from ..workspace.results import RunFailure, RunSummary

MIN_PREVIEW_COLUMN = 8  # narrowest column a preview shows; fewer columns fit, not thinner


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("preview")(preview)


def _print_log(level: int, message: str) -> None:
    """Sideband lines print at once: info to stdout, warnings and errors to stderr."""
    stream = sys.stdout if level < logging.WARNING else sys.stderr
    prefix = "" if level == logging.INFO else f"[{logging.getLevelName(level)}] "
    stream.write(f"{prefix}{message}\n")
    stream.flush()


def run(
    ctx: typer.Context,
    parser: Path = typer.Argument(
        ..., help="The parser file (Level 1 `def parse(path)` or a Parser class)."
    ),
    input: str = typer.Argument(
        ..., help="A file, a folder (every file below it) or a quoted glob."
    ),
    sink: str | None = typer.Option(
        None,
        "--sink",
        help=(
            "Where rows go: parquet://DIR, ipc://DIR, sqlite://FILE, duckdb://FILE or stdout. "
            "Default: Parquet under <home>/dev-output/<parser>/<output>/, apart from the "
            "production outputs."
        ),
        show_default=False,
    ),
    venv: Path | None = typer.Option(
        None,
        "--venv",
        help="Run the parser with this venv's Python (default: current / $VIRTUAL_ENV).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace outputs that already exist."),
    whatif: bool = typer.Option(
        False,
        "--whatif",
        help="Parse, then show outputs, schemas, row counts and targets; write nothing.",
    ),
    keep_going: bool = typer.Option(
        False,
        "--keep-going",
        help=(
            "Carry on past a failed file (its rows are dropped) and list every failed file with "
            "its error at the end. Default: stop at the first failure and write nothing."
        ),
    ),
    guests: int | None = typer.Option(
        None,
        "--guests",
        min=1,
        help="How many guest processes parse in parallel (default: 1; 2 for 256+ files "
        "when not on a terminal).",
        show_default=False,
    ),
    allow_network: bool = typer.Option(
        False,
        "--allow-network",
        help="Give the parser the host's network (recorded in the audit trail). "
        "Default: none, in its own network namespace.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run a parser over input files in dev mode: [bold]breakpoint()[/] works, logs print at once,
    bad rows go to [italic]<output>__quarantine[/], and a summary ends the run."""
    from ..errors import InputError

    with open_workspace(ctx) as workspace:
        warn_if_unsandboxed(workspace.config.settings.guest_sandbox)
        try:
            summary = workspace.parsers.run(
                parser,
                input,
                sink=sink,
                venv=venv,
                force=force,
                whatif=whatif,
                interactive=True,
                on_log=_print_log,
                keep_going=keep_going,
                guests=guests,
                allow_network=allow_network,
            )
        except InputError as exc:
            fail(exc)
        except Exception as exc:  # noqa: BLE001 - e.g. a bad --sink URI or --venv
            kind = getattr(exc, "kind", type(exc).__name__)
            fail(f"{kind}: {exc}")
    if json_output:
        print_json(_summary_document(summary))
    else:
        _print_summary(summary)
    raise typer.Exit(summary.exit_code)


def _summary_document(summary: RunSummary) -> dict[str, Any]:
    return {
        "parser": summary.parser_name,
        "version": summary.parser_version,
        "sink": summary.sink_uri,
        "files": summary.files_done,
        "files_total": summary.files_total,
        "outputs": {
            name: {"emitted": c.emitted, "written": c.written, "quarantined": c.quarantined}
            for name, c in summary.outputs.items()
        },
        "schemas": {name: str(schema) for name, schema in summary.schemas.items()},
        "targets": summary.targets,
        "seconds": round(summary.seconds, 3),
        "rows_per_second": round(summary.rows_per_second, 1),
        "whatif": summary.whatif,
        "cancelled": summary.cancelled,
        "failure": None
        if summary.failure is None
        else {
            "path": summary.failure.path,
            "kind": summary.failure.kind,
            "message": summary.failure.message,
            "retryable": summary.failure.retryable,
        },
        "failed_files": [
            {"path": f.path, "kind": f.kind, "message": f.message, "retryable": f.retryable}
            for f in summary.failed_files
        ],
        "exit_code": summary.exit_code,
    }


def _print_summary(summary: RunSummary) -> None:
    """A dev run's end: why it stopped, or what it wrote (or would), its totals and failures."""
    if summary.cancelled:
        err_console.print(
            f"[bold yellow]Interrupted:[/] stopped the guest's process group "
            f"(pgid {summary.guest_pid}); nothing was written.",
            highlight=False,
        )
        return
    if summary.failure is not None:
        _print_failure(summary, summary.failure)
        return
    _print_outputs(summary)
    _print_totals(summary)
    if summary.failed_files:
        err_console.print(
            f"[bold red]{counted(len(summary.failed_files), 'file')} failed[/] "
            "(their rows were not written):",
            highlight=False,
        )
        for failed in summary.failed_files:
            err_console.print(f"  {failed.kind}: {failed.message}", highlight=False, markup=False)


def _print_failure(summary: RunSummary, failure: RunFailure) -> None:
    """The failure that stopped a run (its traceback unless the guest died or went silent)."""
    transient = "transient — a retry may succeed" if failure.retryable else "permanent"
    err_console.print(
        f"[bold red]{failure.kind}[/] ({transient}): {failure.message}", highlight=False
    )
    if failure.traceback and failure.kind not in ("InactivityTimeout", "GuestExited"):
        err_console.print(failure.traceback.rstrip(), highlight=False, markup=False)
    err_console.print(
        f"Stopped after {summary.files_done} of {counted(summary.files_total, 'file')}; "
        "nothing was written.",
        highlight=False,
    )


def _print_outputs(summary: RunSummary) -> None:
    """Each output's rows written (or, with --whatif, to be written, with its columns)."""
    verb = "Would write" if summary.whatif else "Wrote"
    for name, counts in sorted(summary.outputs.items()):
        target = summary.targets.get(name, "")
        console.print(
            f"{verb} [bold]{name}[/]: {counted(counts.written, 'row')}"
            + (f", {counts.quarantined} quarantined" if counts.quarantined else "")
            + (f" → {target}" if target else ""),
            highlight=False,
        )
        if summary.whatif and name in summary.schemas:
            for field in summary.schemas[name]:
                console.print(f"    {field.name}: {field.type}", highlight=False, markup=False)
    if summary.whatif:
        for name in summary.existing_outputs:
            console.print(
                f"[yellow]{name} exists already; a real run needs --force[/]", highlight=False
            )


def _print_totals(summary: RunSummary) -> None:
    """Files, rows, quarantined rows, time and speed; and whether the guest's log was capped."""
    console.print(
        f"{counted(summary.files_done, 'file')}, {counted(summary.rows_written, 'row')} "
        f"{'would be written' if summary.whatif else 'written'}, "
        f"{summary.rows_quarantined} flagged/quarantined, {summary.seconds:.2f} s, "
        f"{summary.rows_per_second:,.0f} rows/s",
        highlight=False,
    )
    if summary.log_truncated:
        dropped = summary.log_dropped_lines
        console.print(
            "[yellow]guest log output was capped; "
            + (
                f"{dropped:,} later lines were dropped[/]"
                if dropped
                else "later lines were dropped[/]"
            ),
            highlight=False,
        )


def preview(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The file to look at."),
    rows: int = typer.Option(10, "--rows", "-n", help="How many rows to show."),
    json_output: bool = typer.Option(False, "--json", help="Print the preview as JSON."),
) -> None:
    """Show a file's format and dialect, a schema guess and its first rows (hex for binary)."""
    with open_workspace(ctx) as workspace:
        try:
            result = workspace.files.preview(file, rows)
        except OSError as exc:
            fail(f"{file}: {exc.strerror or exc}")
    if json_output:
        print_json(result.to_dict())
        if result.error is not None:
            raise typer.Exit(1)
        return
    details = ", ".join(f"{k}={v!r}" for k, v in result.dialect.items())
    console.print(
        f"[bold]{escape(result.path)}[/]: {result.format}" + (f" ({details})" if details else ""),
        highlight=False,
    )
    for note in result.notes:
        console.print(f"[yellow]{escape(note)}[/]", highlight=False)
    if result.hex_lines:
        for line in result.hex_lines:
            console.print(line, highlight=False, markup=False)
        return
    if result.error is not None:
        console.print("First lines, as they are:", highlight=False)
    elif result.schema:
        console.print(
            "Schema guess: " + ", ".join(f"{_label(n)}: {t}" for n, t in result.schema),
            highlight=False,
            markup=False,
        )
    _print_rows(result.schema, result.rows)
    if result.error is not None:
        fail(result.error)


def _label(name: str) -> str:
    """A column name as printed: quoted with escapes when it holds control characters."""
    return repr(name) if not name.isprintable() else name


def _print_rows(schema: list[tuple[str, str]], rows: list[list[object]]) -> None:
    """The rows as a table of the columns that fit the terminal, and a note for the others."""
    from rich.table import Table

    width = console.width
    shown = 0
    used = 1
    for name, type_name in schema:
        needed = min(max(len(_label(name)), len(type_name), MIN_PREVIEW_COLUMN), 24) + 3
        if shown and used + needed > width:
            break
        used += needed
        shown += 1
    view = Table(show_lines=False)
    for name, type_name in schema[:shown]:
        view.add_column(
            f"{escape(_label(name))}\n[dim]{escape(type_name)}[/]",
            overflow="fold",
            min_width=MIN_PREVIEW_COLUMN,
        )
    for values in rows:
        view.add_row(*(escape("∅" if v is None else str(v)) for v in values[:shown]))
    console.print(view)
    hidden = len(schema) - shown
    if hidden:
        console.print(
            f"+{hidden} more {plural(hidden, 'column')} (use --json)",
            highlight=False,
        )
