"""``casparian jobs``: list jobs and the dead letter queue, replay, cancel, read a job's log."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import TYPE_CHECKING, Any

import typer

from ..job_states import JOB_STATES, STATE_NAMES, TERMINAL_STATES, JobState, is_replayable
from .common import console, fail, folding_table, local_time, open_workspace, print_json

if TYPE_CHECKING:
    from ..workspace.results import DeadLetter, Job, ParserHealth, QueueCounts

STATES = STATE_NAMES

jobs_app = typer.Typer(
    name="jobs",
    help="The job queue: list jobs and the dead letter queue; replay, cancel, read logs.",
    invoke_without_command=True,
    rich_markup_mode="rich",
)


@jobs_app.callback()
def jobs_command(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", "-s", help=f"Only one state: {STATES}."),
    parser: str | None = typer.Option(None, "--parser", "-p", help="Only this parser's jobs."),
    dead_letter: bool = typer.Option(
        False, "--dead-letter", help="List the dead letter queue (jobs that spent their retries)."
    ),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="Show at most this many."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List jobs, newest first (or the dead letter queue with --dead-letter)."""
    if ctx.invoked_subcommand is not None:
        return
    if status is not None and status not in JOB_STATES:
        fail(f"unknown job state {status!r}; use one of: {STATES}")
    with open_workspace(ctx) as workspace:
        if dead_letter:
            letters = workspace.jobs.dead_letters()[:limit]
            if json_output:
                print_json([dataclasses.asdict(letter) for letter in letters])
            else:
                _print_dead_letters(letters)
            return
        jobs = workspace.jobs.list(status, parser, limit=limit)
        stats = workspace.jobs.counts()
        paused = workspace.parsers.paused()
    if json_output:
        print_json([_job_dict(job) for job in jobs])
        return
    _print_jobs(jobs, stats, paused)


def _print_dead_letters(letters: list[DeadLetter]) -> None:
    if not letters:
        console.print("the dead letter queue is empty")
    for letter in letters:
        console.print(
            f"[bold]{letter.job_id}[/] {letter.parser_name} {letter.input_path} "
            f"retries={letter.retry_count} at {local_time(letter.failed_at)}\n"
            f"  {letter.error}",
            highlight=False,
        )


def _print_jobs(jobs: list[Job], stats: QueueCounts, paused: list[ParserHealth]) -> None:
    """The jobs as a table, the queue's counts by state, paused parsers, and a note on jobs
    that show their batch's times."""
    table = folding_table("id", "state", "parser", "input", "rows", "tries", "finished", "error")
    for job in jobs:
        table.add_row(
            str(job.id),
            job.status,
            f"{job.parser_name} {job.parser_version}",
            job.input_path,
            f"{job.rows_written:,}"
            + (f" (+{job.rows_quarantined:,} q)" if job.rows_quarantined else ""),
            str(job.retry_count + (job.status != JobState.QUEUED)),
            local_time(job.finished_at),
            job.error_message or "",
        )
    console.print(table)
    console.print(
        ", ".join(f"{n:,} {state}" for state, n in sorted(stats.by_status.items())) or "no jobs",
        highlight=False,
    )
    for health in paused:
        note = f"{health.parser_name}: {health.pause_note}"
        console.print(note, highlight=False, markup=False, soft_wrap=True)
    batched = _batched_jobs(jobs)
    if batched:
        console.print(
            f"{batched:,} of these jobs show their batch's claim and commit times, not their "
            "own: their batch handler does not time each file",
            highlight=False,
        )


def _batched_jobs(jobs: list[Job]) -> int:
    """How many jobs a worker finished share their start and finish times with another job of
    their worker: their batch's claim and commit times stand in for their own. (The prod
    handler times each file, failed ones too; cancelled jobs end when cancelled, not run.)"""
    spans = Counter(
        (job.worker_id, job.started_at, job.finished_at)
        for job in jobs
        if job.finished_at and job.status != JobState.CANCELLED
    )
    return sum(n for n in spans.values() if n > 1)


def _job_dict(job: Any) -> dict[str, Any]:
    data = dataclasses.asdict(job)
    data["output_paths"] = list(job.output_paths)
    return data


@jobs_app.command("replay")
def replay_command(ctx: typer.Context, job_id: int = typer.Argument(..., help="Job id.")) -> None:
    """Requeue a dead-lettered, failed or cancelled job (the dead letter record is kept)."""
    with open_workspace(ctx) as workspace:
        job = workspace.jobs.get(job_id)
        if job is None:
            fail(f"no job {job_id}")
        if not workspace.jobs.replay(job_id):
            if not is_replayable(job.status):
                fail(
                    f"job {job_id} is {job.status}; "
                    "only failed, dead_letter or cancelled jobs replay"
                )
            fail(workspace.jobs.replay_refusal(job_id) or f"job {job_id} not replayed")
    console.print(f"job {job_id} is queued again", highlight=False)


@jobs_app.command("cancel")
def cancel_command(ctx: typer.Context, job_id: int = typer.Argument(..., help="Job id.")) -> None:
    """Cancel a queued or running job (a running worker's result is then refused)."""
    with open_workspace(ctx) as workspace:
        job = workspace.jobs.get(job_id)
        if job is None:
            fail(f"no job {job_id}")
        if not workspace.jobs.cancel(job_id):
            fail(f"job {job_id} is {job.status}; only queued or running jobs can be cancelled")
    console.print(f"job {job_id} cancelled", highlight=False)


@jobs_app.command("logs")
def logs_command(
    ctx: typer.Context,
    job_id: int = typer.Argument(..., help="Job id."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing until the job ends."),
) -> None:
    """Print a job's log (sideband lines of its parser and what the worker said about it)."""
    from ..logs import follow_log

    with open_workspace(ctx) as workspace:
        path = workspace.jobs.log_path(job_id)
        if path is None:
            fail(f"no job {job_id}")
        if not follow:
            if not path.is_file():
                fail(
                    f"job {job_id} has no log at {path}: it has not started, or it succeeded "
                    "without its parser logging anything"
                )
            typer.echo(path.read_text(encoding="utf-8", errors="replace"), nl=False)
            return

        def finished() -> bool:
            job = workspace.jobs.get(job_id)
            return job is None or job.status in TERMINAL_STATES

        for line in follow_log(path, finished):
            typer.echo(line)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
