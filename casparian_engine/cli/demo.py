"""``casparian demo``: write the demo workspace (messy files, sample parsers, a scanned home)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from .common import console, fail, print_json

if TYPE_CHECKING:
    from ..demo.home import DemoWorkspace


def demo(
    directory: Path = typer.Argument(
        Path("casparian-demo"),
        help="Where to write the demo: files/, parsers/ and home/ go inside it.",
    ),
    files: int = typer.Option(
        200, "--files", "-n", help="How many data files to write (at least 10).", min=1
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same bytes."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Rewrite the demo's files and sample parsers (needed to change --files/--seed); "
        "home/ is kept and rescanned.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON only."),
) -> None:
    """Write a deterministic demo workspace of realistic, messy files plus sample parsers.

    [bold]DIR/files/[/] holds invoices (comma CSV, the bulk), sensor exports (semicolon CSV with
    decimal commas), syslog files, JSON lines, a fixed-width legacy export, bank statements with
    day-first dates and a few broken files. [bold]DIR/parsers/[/] holds a sample parser for each
    format. [bold]DIR/home/[/] is the demo's Casparian home, with tag rules and a first scan:
    use [bold]casparian --home DIR/home …[/]. Re-running with the same arguments reuses the demo.
    """
    from ..errors import CasparianError

    show_progress = not as_json and sys.stdout.isatty() and console.is_terminal
    try:
        made = _create_demo(directory, files, seed, force, show_progress)
    except (CasparianError, OSError) as exc:
        fail(exc)
    if as_json:
        print_json(_demo_document(made))
        return
    _print_demo(made)


def _create_demo(
    directory: Path, files: int, seed: int, force: bool, show_progress: bool
) -> DemoWorkspace:
    """Write (or reuse) the demo, with a progress bar of files written, then of the scan."""
    from ..demo import DemoProgress
    from ..demo.home import create_demo_workspace
    from ..events import ScanProgress

    if not show_progress:
        return create_demo_workspace(directory, files, seed, force=force)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("writing demo files", total=files)

        def on_event(event: object) -> None:
            if isinstance(event, DemoProgress):
                progress.update(task, completed=event.written_files)
            elif isinstance(event, ScanProgress):
                progress.update(
                    task, description=f"scanning: {event.files_seen:,} files", total=None
                )

        return create_demo_workspace(directory, files, seed, force=force, on_event=on_event)


def _demo_document(made: DemoWorkspace) -> dict[str, Any]:
    result = made.demo
    return {
        "root": str(result.root),
        "files_dir": str(result.files_dir),
        "parsers_dir": str(result.parsers_dir),
        "home_dir": str(result.home_dir),
        "reused": result.reused,
        "file_count": result.file_count,
        "files_by_format": result.files_by_format,
        "total_bytes": result.total_bytes,
        "content_sha256": result.content_sha256,
        "special_files": result.special_files,
        "elapsed_s": round(result.elapsed_s, 3),
        "scan": made.scan.to_dict() if made.scan is not None else None,
    }


def _print_demo(made: DemoWorkspace) -> None:
    """What was written (or reused) where, its formats, and the commands to try next."""
    result = made.demo
    verb = "reused" if result.reused else "wrote"
    rate = result.file_count / result.elapsed_s if result.elapsed_s > 0 else 0.0
    console.print(
        f"{verb} [bold]{result.file_count:,}[/] demo files ({result.total_bytes / 1e6:.1f} MB) in "
        f"{result.root} in {result.elapsed_s:.2f}s"
        + ("" if result.reused else f" ({rate:,.0f} files/s)"),
        highlight=False,
    )
    counts = ", ".join(f"{n:,} {name}" for name, n in result.files_by_format.items())
    console.print(f"  formats: {counts}", highlight=False)
    if made.scan is not None:
        console.print(f"  scanned into {result.home_dir} and tagged", highlight=False)
    home = result.home_dir
    console.print(
        f"next: casparian --home {home} files --tag invoices\n"
        f"      casparian --home {home} run {result.parsers_dir / 'invoices' / 'invoices.py'} "
        f"{result.files_dir / result.special_files.get('bom_crlf_csv', 'invoices')}",
        highlight=False,
        markup=False,
        soft_wrap=True,  # commands stay whole lines, so they can be copied
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
