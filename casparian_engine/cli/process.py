"""``casparian process`` (drain the queue and exit), ``casparian start`` (the daemon) and
``casparian parser resume`` (clear a circuit breaker)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from ..job_states import ERROR_STATES
from ..wording import counted, plural
from .common import console, fail, open_workspace, print_json
from .doctor import warn_if_unsandboxed
from .parser import parser_app

if TYPE_CHECKING:
    from ..events import Event, EventSink
    from ..workspace.results import EnqueueReport, PoolSummary


def _summary_dict(summary: PoolSummary) -> dict[str, Any]:
    return {
        "jobs_finished": summary.jobs_finished,
        "counts": summary.counts,
        "rows_emitted": summary.rows_emitted,
        "rows_written": summary.rows_written,
        "rows_quarantined": summary.rows_quarantined,
        "seconds": round(summary.elapsed_s, 3),
        "files_per_second": round(summary.files_per_s, 1),
        "rows_per_second": round(summary.rows_per_s, 1),
        "orphans_requeued": summary.orphans_requeued,
        "paused_parsers": list(summary.paused_parsers),
        "worker_crashes": summary.worker_crashes,
        "cancelled": summary.cancelled,
    }


def _rate(per_second: float, word: str) -> str:
    """``1 file/s``, ``2 files/s``: the rate rounded as shown, its noun pluralised to match."""
    shown = round(per_second)
    return f"{shown:,} {plural(shown, word)}/s"


def _print_summary(summary: PoolSummary) -> None:
    counts = ", ".join(f"{n:,} {status}" for status, n in summary.counts.items() if n > 0)
    console.print(
        f"[bold]{summary.jobs_finished:,}[/] {plural(summary.jobs_finished, 'job')} finished "
        f"in {summary.elapsed_s:.1f}s ({_rate(summary.files_per_s, 'file')}, "
        f"{_rate(summary.rows_per_s, 'row')}): "
        f"{counts or 'nothing to do'}",
        highlight=False,
    )
    console.print(
        f"rows: {summary.rows_written:,} written, {summary.rows_quarantined:,} quarantined",
        highlight=False,
    )
    if summary.orphans_requeued:
        console.print(
            f"requeued {counted(summary.orphans_requeued, 'job')} left by a crashed worker"
        )
    for name in summary.paused_parsers:
        console.print(
            f"[bold red]paused[/] parser '{name}' (circuit breaker); "
            f"fix it, then `casparian parser resume {name}`",
            highlight=False,
        )
    if summary.cancelled:
        console.print("[yellow]stopped early[/]: running jobs finished, the rest stay queued")


def process_command(
    ctx: typer.Context,
    parser: str | None = typer.Option(None, "--parser", "-p", help="Only this parser's jobs."),
    workers: int | None = typer.Option(
        None, "--workers", "-w", min=1, help="Worker processes (default: max_concurrent_workers)."
    ),
    batch: int | None = typer.Option(
        None,
        "--batch",
        min=1,
        help="Jobs a worker claims at once; each claim writes one Parquet part per output "
        "(default 256 with the executor).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    queue_only: bool = typer.Option(
        False,
        "--queue-only",
        help="Only queue the matched files and exit: worker hosts (`casparian worker`) on the "
        "same store process them.",
    ),
) -> None:
    """Queue scanned files matched by registered parsers, drain the queue with the worker pool,
    and exit with a summary. Ctrl+C stops gracefully: running jobs finish, the rest stay queued."""
    if queue_only:
        _queue_only(ctx, parser, json_output)
        return
    cancel = threading.Event()
    with open_workspace(ctx) as workspace:
        if parser is not None and workspace.parsers.get(parser) is None:
            fail(f"no parser '{parser}' is registered (see `casparian parser list`)")
        warn_if_unsandboxed(workspace.config.settings.guest_sandbox)
        with _progress_bar(json_output) as show:
            reports = workspace.jobs.enqueue(parser) if workspace.parsers.list() else []
            summary = workspace.jobs.process(
                parser, workers, show, cancel, claim_batch=batch, queue_matching=False,
            )  # fmt: skip
    _print_outcome(summary, reports, json_output)
    failed = sum(summary.counts.get(state, 0) for state in ERROR_STATES)
    raise typer.Exit(1 if failed or summary.paused_parsers else 0)


@contextmanager
def _progress_bar(hidden: bool) -> Iterator[EventSink]:
    """A transient bar of the run's jobs (finished of total, running and failed); yields the
    sink that moves it (the bar stays hidden with ``--json``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from ..events import PoolProgress

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=hidden,
    ) as bar:
        task = bar.add_task("processing", total=None)

        def show(event: Event) -> None:
            if isinstance(event, PoolProgress):
                bar.update(
                    task,
                    completed=event.finished,
                    total=event.total,
                    description=f"{event.running} running, {event.failed} failed",
                )

        yield show


def _print_outcome(summary: PoolSummary, reports: list[EnqueueReport], json_output: bool) -> None:
    """The run's summary and, for each parser, why nothing was queued or which jobs failed."""
    reasons = [r.why_nothing_queued() or r.failed_jobs_note() for r in reports]
    if json_output:
        print_json({**_summary_dict(summary), "not_queued": [r for r in reasons if r]})
        return
    _print_summary(summary)
    for reason in reasons:
        if reason:
            console.print(reason, highlight=False, markup=False, soft_wrap=True)


def _queue_only(ctx: typer.Context, parser: str | None, json_output: bool) -> None:
    """``process --queue-only``: queue the matched files for worker hosts; say how many."""
    with open_workspace(ctx) as workspace:
        if parser is not None and workspace.parsers.get(parser) is None:
            fail(f"no parser '{parser}' is registered (see `casparian parser list`)")
        reports = workspace.jobs.enqueue(parser)
    if json_output:
        print_json(
            [
                {"parser": r.parser_name, "version": r.parser_version, "matched": r.matched,
                 "queued": r.queued}
                for r in reports
            ]
        )  # fmt: skip
        return
    for report in reports:
        console.print(
            f"{report.parser_name} {report.parser_version}: {report.queued:,} of "
            f"{report.matched:,} matched files queued",
            highlight=False,
            markup=False,
        )
        note = report.why_nothing_queued() or report.failed_jobs_note()
        if note:
            console.print(note, highlight=False, markup=False, soft_wrap=True)


def start_command(
    ctx: typer.Context,
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Worker processes."),
) -> None:
    """Run the daemon: watch the configured folders (watch_folders), rescan them periodically,
    queue new and changed files for their parsers and keep the worker pool running.
    SIGTERM or Ctrl+C stops it gracefully."""
    with open_workspace(ctx) as workspace:
        if not workspace.config.settings.watch_folders:
            fail(
                "no folders to watch: set watch_folders in "
                f'{workspace.home / "config.toml"} (e.g. watch_folders = ["/data/in"])'
            )
        console.print(
            f"watching {', '.join(workspace.config.settings.watch_folders)}; Ctrl+C to stop",
            highlight=False,
        )
        warn_if_unsandboxed(workspace.config.settings.guest_sandbox)
        summary = workspace.jobs.serve(workers=workers)
    _print_summary(summary)


@parser_app.command("resume")
def resume_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The paused parser."),
) -> None:
    """Clear a parser's circuit breaker so its queued jobs run again."""
    with open_workspace(ctx) as workspace:
        if not workspace.parsers.resume(name):
            fail(f"parser '{name}' is not paused")
    console.print(f"resumed parser '{name}'", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("process")(process_command)
    app.command("start")(start_command)
