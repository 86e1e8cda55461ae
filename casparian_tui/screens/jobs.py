"""Jobs: the queue (status icon, parser, file, duration) and an expandable detail pane."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from ..actions import bindings_for
from ..messages import JobActed, JobDetailLoaded, JobsListed
from .base import ModeScreen

STATUS_ICONS = {
    "queued": "◌",
    "running": "▶",
    "completed": "✔",
    "completed_with_warnings": "⚠",
    "failed": "✗",
    "dead_letter": "☠",
    "cancelled": "⊘",
}
LOG_TAIL_BYTES = 4096
REFRESH_S = 2.0
JOB_COLUMNS = (("", 1), ("status", 14), ("job", 6), ("parser", 16), ("file", 18), ("duration", 8))


def job_duration(job: Any, now: float) -> str:
    """Seconds a job ran (or has been running), blank if it never started."""
    if job.started_at is None:
        return ""
    end = job.finished_at if job.finished_at is not None else now
    return f"{max(0.0, end - job.started_at):.1f}s"


class JobsScreen(ModeScreen):
    """Newest jobs first; j/k move, Enter expands, r retries/replays, c cancels."""

    MODE = "jobs"
    HEADING = "Jobs"
    BINDINGS = bindings_for("jobs")

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[Any] = []
        self.detail_job_id: int | None = None  # the job the detail pane shows
        self.detail_status = ""  # its status when the detail was read

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="split"):
            table: DataTable[str] = DataTable(id="jobs-table", cursor_type="row")
            yield table
            with VerticalScroll(id="job-detail-pane"):
                yield Static("Enter shows a job's logs, error trace and outputs.", id="job-detail")
        yield Static("", id="jobs-status")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        for label, width in JOB_COLUMNS:  # fixed: never depends on which rows came first
            table.add_column(label, width=width)
        self.query_one(DataTable).focus()
        self.load_jobs()
        if self.casparian.live_refresh:
            self.set_interval(REFRESH_S, self.refresh_if_shown)

    def refresh_if_shown(self) -> None:
        """The periodic refresh reads the store only while the user can see the list."""
        if self.is_current:
            self.load_jobs()

    def on_screen_resume(self) -> None:
        self.load_jobs()

    @work(thread=True, exclusive=True, exit_on_error=False, group="jobs-list")
    def load_jobs(self) -> None:
        self.post_message(JobsListed(self.service.workspace.list_jobs(limit=500)))

    def on_jobs_listed(self, message: JobsListed) -> None:
        self.jobs = message.rows
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        now = self.casparian.clock()
        counts: dict[str, int] = {}
        for job in message.rows:
            counts[job.status] = counts.get(job.status, 0) + 1
            table.add_row(
                STATUS_ICONS.get(job.status, "?"),
                job.status,
                str(job.id),
                f"{job.parser_name} {job.parser_version}",
                Path(job.input_path).name,
                job_duration(job, now),
                key=str(job.id),
            )
        if message.rows:
            table.move_cursor(row=min(cursor, len(message.rows) - 1))
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no jobs yet"
        self.query_one("#jobs-status", Static).update(summary)
        shown = next((job for job in message.rows if job.id == self.detail_job_id), None)
        if shown is not None and shown.status != self.detail_status:
            self.load_detail(shown.id)  # the job the detail shows moved on: re-read it

    @property
    def current_job(self) -> Any:
        table = self.query_one(DataTable)
        if not self.jobs or table.cursor_row >= len(self.jobs):
            return None
        return self.jobs[table.cursor_row]

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.cursor_row + step)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        job = self.current_job
        if job is not None:
            self.set_selection(f"job {job.id} ({job.status})")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_expand()

    def action_expand(self) -> None:
        job = self.current_job
        if job is not None:
            self.load_detail(job.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="jobs-detail")
    def load_detail(self, job_id: int) -> None:
        workspace = self.service.workspace
        job = workspace.job_detail(job_id)
        log_path = workspace.job_log_path(job_id)
        log_tail = ""
        if log_path is not None and log_path.is_file():
            with open(log_path, "rb") as handle:
                handle.seek(max(0, log_path.stat().st_size - LOG_TAIL_BYTES))
                log_tail = handle.read().decode("utf-8", errors="replace")
        self.post_message(JobDetailLoaded(job_id, (job, str(log_path or ""), log_tail)))

    def on_job_detail_loaded(self, message: JobDetailLoaded) -> None:
        job, log_path, log_tail = message.detail
        self.detail_job_id = message.job_id
        self.detail_status = job.status if job is not None else ""
        if job is None:
            self.query_one("#job-detail", Static).update(f"job {message.job_id} no longer exists")
            return
        lines = [
            f"[b]job {job.id}[/b] {STATUS_ICONS.get(job.status, '?')} {job.status}",
            f"parser   {escape(job.parser_name)} {escape(job.parser_version)}",
            f"input    {escape(job.input_path)}",
            f"retries  {job.retry_count}",
            f"rows     {job.rows_written:,} written, {job.rows_quarantined:,} quarantined",
            "outputs  " + (escape(", ".join(job.output_paths)) or "none"),
        ]
        if job.error_message:
            lines += [
                "",
                f"[b red]{escape(job.error_kind or 'error')}[/]: {escape(job.error_message)}",
            ]
        if job.error_trace:
            lines += ["", escape(job.error_trace)]
        lines += ["", f"[b]log[/b] {escape(log_path)}", escape(log_tail) or "(empty)"]
        self.query_one("#job-detail", Static).update("\n".join(lines))

    def action_retry_job(self) -> None:
        job = self.current_job
        if job is None:
            return
        if job.status not in ("failed", "dead_letter", "cancelled"):
            self.show_error(f"job {job.id} is {job.status}: only failed jobs can be retried")
            return
        self.act_on_job(job.id, "retry")

    def action_cancel_job(self) -> None:
        job = self.current_job
        if job is None:
            return
        if job.status not in ("queued", "running"):
            self.show_error(f"job {job.id} is {job.status}: only queued or running jobs cancel")
            return
        self.act_on_job(job.id, "cancel")

    @work(thread=True, exclusive=True, exit_on_error=False, group="jobs-act")
    def act_on_job(self, job_id: int, action: str) -> None:
        workspace = self.service.workspace
        done = workspace.retry_job(job_id) if action == "retry" else workspace.cancel_job(job_id)
        verb = "requeued" if action == "retry" else "cancelled"
        text = f"job {job_id} {verb}" if done else f"job {job_id} could not be {verb}"
        self.post_message(JobActed(job_id, action, text))

    def on_job_acted(self, message: JobActed) -> None:
        self.clear_error()
        self.notify(message.result_text)
        self.load_jobs()
        if message.job_id == self.detail_job_id:
            self.load_detail(message.job_id)  # the header must not keep saying ✗ failed
