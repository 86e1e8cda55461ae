"""`casparian lab`: draft a parser folder from sample files, and try it on them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from .common import console, counted, err_console, fail, open_workspace, print_json

if TYPE_CHECKING:
    from ..ai import ProviderEvent
    from ..lab import Draft, OutputTry, TryResult, WrittenDraft
    from ..workspace import Workspace

lab_app = typer.Typer(
    help="Parser Lab: draft a parser and its contract from sample files, then try it on them. "
    "Approving the contract and registering the parser stay your decisions.",
    no_args_is_help=True,
)


def _draft_document(draft: Draft, written: WrittenDraft) -> dict[str, Any]:
    return {
        "name": draft.name,
        "kind": draft.kind,
        "folder": str(written.folder),
        "files": [{"name": f.name, "origin": f.origin} for f in draft.files]
        + [{"name": "uv.lock", "origin": "project"}],
        "samples": [str(p) for p in draft.facts.paths],
        "findings": list(draft.findings),
        "notes": list(draft.notes),
    }


@lab_app.command("draft")
def draft_command(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        None,
        help="Sample files (or folders of them). Without any, the files tagged --tag in the "
        "inventory are the samples.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The folder to write the parser into."),
    name: str | None = typer.Option(
        None, "--name", help="Parser name (default: from the samples' folder or file)."
    ),
    tag: str | None = typer.Option(
        None,
        "--tag",
        help="The tag the parser reads (default: name); with no FILES, the samples are the "
        "files carrying it.",
    ),
    ai: bool = typer.Option(
        False,
        "--ai/--no-ai",
        help="Let the configured model write or improve the parser (checked, with the "
        "deterministic draft as the fallback). Default: no model.",
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace files that already exist in --out without asking."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON only."),
) -> None:
    """Write a parser folder for sample files: parser.py, a contract proposal per output,
    pyproject.toml and uv.lock. Existing files are replaced only when you say so."""
    from ..lab import LabError, deterministic_draft, tagged_samples
    from ..lab.draft import name_from_tag, parser_name_for

    files = list(files or [])
    from_tag = not files
    if not files and not tag:
        fail("name sample files, or --tag TAG to draft from the files carrying that tag")
    try:
        if not files:
            with open_workspace(ctx) as workspace:
                files = tagged_samples(workspace, str(tag))
            if name is None:
                name = parser_name_for(files, name_from_tag(tag))
        draft = deterministic_draft(files, name, tag)
        if ai:
            with open_workspace(ctx) as workspace:
                draft = _model_draft(workspace, draft)
        written = _write_asking(draft, out, force, ask=not as_json and console.is_terminal)
    except LabError as exc:
        fail(exc)
    if as_json:
        print_json(_draft_document(draft, written))
        return
    sample_args = f"--tag {tag}" if from_tag else " ".join(str(p) for p in files)
    _print_draft(draft, written, sample_args)


def _write_asking(draft: Draft, out: Path, force: bool, ask: bool) -> WrittenDraft:
    """Write the draft into ``out``; files there are replaced with ``force``, or when the
    person says yes (``ask``: on a terminal), else nothing is written."""
    from ..lab import existing_files, write_draft

    existing = existing_files(draft, out)
    overwrite = force
    if existing and not force:
        listed = ", ".join(str(path) for path in existing)
        if not ask:
            fail(f"{out}: would replace {listed}; use --force to replace them")
        overwrite = typer.confirm(f"Replace {listed}?", default=False)
        if not overwrite:
            fail("nothing written")
    return write_draft(draft, out, overwrite=overwrite)


def _print_draft(draft: Draft, written: WrittenDraft, sample_args: str) -> None:
    """The drafted files with their origins, findings and notes, and the command to try it."""
    console.print(
        f"Drafted [bold]{draft.name}[/] ({draft.kind}) from "
        f"{counted(len(draft.facts.paths), 'sample file')} into {written.folder}",
        highlight=False,
    )
    for draft_file in draft.files:
        console.print(f"  {draft_file.name}  [dim]{draft_file.origin}[/]", highlight=False)
    console.print("  uv.lock  [dim]project[/]", highlight=False)
    for finding in draft.findings:
        console.print(f"  · {finding}", highlight=False, markup=False)
    for note in draft.notes:
        err_console.print(f"  ! {note}", highlight=False, markup=False)
    console.print(
        f"next: casparian lab try {written.folder} {sample_args}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _model_draft(workspace: Workspace, draft: Draft) -> Draft:
    """The model's draft (checked, falling back to ``draft``); the model's text streams to
    stderr as it comes, each attempt's verdict after it."""
    from rich.markup import escape

    from ..ai import Status, TextDelta
    from ..lab.model_draft import Attempt, model_draft

    def on_event(event: ProviderEvent) -> None:
        if isinstance(event, TextDelta):
            sys.stderr.write(event.text)
            sys.stderr.flush()
        elif isinstance(event, Status) and not event.step:  # progress steps stay off a log
            err_console.print(f"[dim]{escape(event.text)}[/]", highlight=False)

    def on_attempt(attempt: Attempt) -> None:
        verdict = "passed the checks" if attempt.problem is None else f"refused: {attempt.problem}"
        err_console.print(
            f"\n[dim]model draft {attempt.number}: {escape(verdict)}[/]", highlight=False
        )

    return model_draft(workspace, draft, on_event=on_event, on_attempt=on_attempt)


def _try_document(result: TryResult) -> dict[str, Any]:
    return {
        "folder": str(result.folder),
        "files": [str(p) for p in result.files],
        "ok": result.ok,
        "failure": result.failure,
        "failed_files": list(result.failed_files),
        "outputs": {
            o.name: {
                "written": o.written,
                "quarantined": o.quarantined,
                "reasons": [
                    {"row": r.row, "rules": r.rules, "reason": r.reason} for r in o.reasons
                ],
                "columns": [list(c) for c in o.columns],
                "preview": [[_plain(v) for v in row] for row in o.preview],
            }
            for o in result.outputs
        },
        "seconds": round(result.seconds, 3),
    }


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, float, str, bool)) else str(value)


@lab_app.command("try")
def try_command(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="The parser folder (from `casparian lab draft`)."),
    files: list[Path] = typer.Argument(
        None, help="Sample files (or folders) to run it on; without any, the files tagged --tag."
    ),
    tag: str | None = typer.Option(
        None, "--tag", help="With no FILES: try it on the files carrying this tag."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON only."),
) -> None:
    """Run the parser on the samples through the same executor as `casparian run` (guest,
    contract validation, quarantine) and show rows written, quarantined and a preview."""
    from ..lab import LabError, tagged_samples, try_parser

    if not files and not tag:
        fail("name sample files, or --tag TAG to try on the files carrying that tag")
    with open_workspace(ctx) as workspace:
        try:
            samples = list(files) if files else tagged_samples(workspace, str(tag))
            result = try_parser(workspace, folder, samples)
        except LabError as exc:
            fail(exc)
    if as_json:
        print_json(_try_document(result))
        raise typer.Exit(0 if result.ok else 1)
    if result.failure is not None:
        err_console.print(f"[bold red]failed[/]: {result.failure}", highlight=False)
    for failed in result.failed_files:
        err_console.print(f"[bold red]file failed[/]: {failed}", highlight=False, markup=False)
    for output in result.outputs:
        _print_tried_output(output)
    if result.ok:
        contracts = " ".join(str(p) for p in sorted(result.folder.glob("*.contract.yaml")))
        console.print(
            f"next: casparian schema approve {contracts}\n"
            f"      casparian parser register {result.folder}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    raise typer.Exit(0 if result.ok else 1)


def _print_tried_output(output: OutputTry) -> None:
    """One output of a try: rows written and quarantined, why, and a preview table."""
    from rich.table import Table

    console.print(
        f"[bold]{output.name}[/]: {counted(output.written, 'row')} written, "
        f"{output.quarantined} quarantined",
        highlight=False,
    )
    for reason in output.reasons:
        where = f"line {reason.row}" if reason.row is not None else "row ?"
        console.print(f"  {where}: {reason.reason or reason.rules}", highlight=False, markup=False)
    if output.columns:
        view = Table(show_lines=False)
        for column, type_name in output.columns:
            view.add_column(f"{column}\n[dim]{type_name}[/]", overflow="fold")
        for row in output.preview:
            view.add_row(*("∅" if v is None else str(v) for v in row))
        console.print(view)


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")
