"""Jobs: the queue (status icon, parser, file, duration) and an expandable detail pane."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from casparian_engine.job_states import (
    ERROR_STATES,
    LIVE_STATES,
    SUCCEEDED_STATES,
    JobState,
    is_live,
    is_replayable,
)

from ..actions import bindings_for
from ..assistant import ExplainFailure, explainable
from ..messages import JobActed, JobDetailLoaded
from ..widgets.workers_line import WorkersLine
from .base import ModeScreen, fitted_width, tail_path

if TYPE_CHECKING:
    from casparian_engine.workspace.results import Job

STATUS_ICONS: dict[str, str] = {
    JobState.QUEUED: "⏳",
    JobState.RUNNING: "▶",
    JobState.COMPLETED: "✓",
    JobState.COMPLETED_WITH_WARNINGS: "⚠",
    JobState.FAILED: "✗",
    JobState.DEAD_LETTER: "☠",
    JobState.CANCELLED: "⊘",
}
STATUS_SHORT: dict[str, str] = {
    JobState.COMPLETED_WITH_WARNINGS: "warnings",
    JobState.DEAD_LETTER: "dead letter",
}
STATUS_FILTERS: tuple[JobState | None, ...] = (
    None,
    *ERROR_STATES,
    *LIVE_STATES,
    *SUCCEEDED_STATES,
    JobState.CANCELLED,
)  # the filter key cycles: all, then what went wrong first
LOG_TAIL_BYTES = 4096
REFRESH_S = 2.0
FIXED_COLUMNS = (("state", "state", 13), ("job", "job", 5), ("parser", "parser", 14))
TIME_COLUMN = ("time", "time", 14)
MIN_FILE_WIDTH = 16


BLOCKED = "⏸ blocked"
"""A queued job's state cell while its parser's circuit breaker holds it."""


def status_cell(status: str) -> str:
    """'✗ failed', '⚠ warnings', '☠ dead letter': an icon and a short form that fits."""
    return f"{STATUS_ICONS.get(status, '?')} {STATUS_SHORT.get(status, status)}"


def readable_span(seconds: float, tenths: bool = False) -> str:
    """A span a person reads at a glance: '12s' (or '2.5s' with ``tenths``, and '84 ms' or
    '<1 ms' below a tenth: a small file's parse takes milliseconds), '8m 48s', '2h 05m',
    '3d 04h'."""
    seconds = max(0.0, seconds)
    if tenths and seconds < 0.1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.0005 else "<1 ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if tenths else f"{seconds:.0f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86_400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86_400}d {whole % 86_400 // 3600:02d}h"


def job_duration(job: Job, now: float) -> str:
    """How long a job ran ('2.5s', '8m 48s'), has been running, or has waited in the queue
    ('queued 12s'); '—' for a job that never started."""
    if job.status == JobState.QUEUED:
        return f"queued {readable_span(now - job.created_at)}"
    if job.started_at is None:
        return "—"
    end = job.finished_at if job.finished_at is not None else now
    return readable_span(end - job.started_at, tenths=True)


def job_state_cell(job: Job, paused: frozenset[str]) -> str:
    """The state column: a queued job of a paused parser says it is blocked."""
    if job.status == JobState.QUEUED and job.parser_name in paused:
        return BLOCKED
    return status_cell(job.status)


def requeued_text(job_id: int, parser_name: str, paused: bool) -> str:
    """What a retried job waits for: a paused parser's resume; else it runs now."""
    if paused:
        return (
            f"job {job_id} requeued; {parser_name} is paused: press u on {parser_name} "
            "in Process to resume it, then r to run it"
        )
    return f"job {job_id} requeued and running: {parser_name} processes it now (see Process)"


@dataclass
class JobQueueRead(Message):
    """A page of the job queue was read, with the parsers whose circuit breaker is open."""

    rows: list[Any]
    paused: frozenset[str]
    status: str | None  # the status filter the rows were read with


ENDED_IN_ERROR = ERROR_STATES


def error_lines(job: Job) -> list[str]:
    """A failed job's error in red; any other job's stored error is an earlier attempt's (a
    requeued, retried or cancelled job keeps it), so it is labelled as such, not as the job's."""
    if not job.error_message and not job.error_trace:
        return []
    kind = escape(job.error_kind or "error")
    if job.status in ENDED_IN_ERROR:
        lines = ["", f"[b red]{kind}[/]: {escape(job.error_message or '')}"]
    else:
        lines = ["", f"[dim]earlier attempt: {kind}: {escape(job.error_message or '')}[/dim]"]
    if job.error_trace:
        lines += ["", escape(job.error_trace)]
    return lines


class JobsScreen(ExplainFailure, ModeScreen):
    """Newest jobs first; j/k move, Enter expands, r retries/replays, c cancels, s filters."""

    MODE = "jobs"
    HEADING = "Jobs"
    MAIN_WIDGET = "#jobs-table"
    BINDINGS = bindings_for("jobs")

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[Any] = []
        self.detail_job_id: int | None = None  # the job the detail pane shows
        self.detail_status = ""  # its status when the detail was read
        self.status_filter: str | None = None  # show only jobs of this status
        self.paused: frozenset[str] = frozenset()  # parsers whose queued jobs are blocked
        self.file_width = MIN_FILE_WIDTH

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="split"):
            table: DataTable[str] = DataTable(id="jobs-table", cursor_type="row")
            yield table
            with VerticalScroll(id="job-detail-pane"):
                yield Static("Enter shows a job's logs, error trace and outputs.", id="job-detail")
        yield WorkersLine(self.service.workspace, id="jobs-workers")
        yield Static("", id="jobs-status")

    def on_mount(self) -> None:
        super().on_mount()
        self._add_columns()
        self.query_one(DataTable).focus()
        self.load_jobs()
        self.query_one(WorkersLine).reload()
        if self.casparian.live_refresh:
            self.set_interval(REFRESH_S, self.refresh_if_shown)

    def refresh_if_shown(self) -> None:
        """The periodic refresh reads the store only while the user can see the list."""
        if self.is_current:
            self.load_jobs()
            self.query_one(WorkersLine).reload()

    def on_screen_resume(self) -> None:
        """Coming back: the old error no longer applies, and every state shown is re-read."""
        self.clear_error()
        self.load_jobs()
        self.query_one(WorkersLine).reload()
        if self.detail_job_id is not None:
            self.load_detail(self.detail_job_id)

    def _add_columns(self) -> None:
        """Fixed columns; the file column takes the width left (never depends on the rows)."""
        table = self.query_one(DataTable)
        fixed = sum(width for _, _, width in (*FIXED_COLUMNS, TIME_COLUMN))
        self.file_width = fitted_width(table.size.width, fixed, 5, MIN_FILE_WIDTH)
        table.clear(columns=True)
        for label, key, width in FIXED_COLUMNS:
            table.add_column(label, key=key, width=width)
        table.add_column("file", key="file", width=self.file_width)
        label, key, width = TIME_COLUMN
        table.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        self.call_after_refresh(self._refill)

    def _sync_sidebar(self, visible: bool) -> None:
        super()._sync_sidebar(visible)
        self.call_after_refresh(self._refill)

    def _refill(self) -> None:
        self._add_columns()
        self._fill(self.jobs)

    @work(thread=True, exclusive=True, exit_on_error=False, group="jobs-list")
    def load_jobs(self) -> None:
        workspace = self.service.workspace
        status = self.status_filter
        rows = workspace.jobs.list(status=status, limit=500)
        paused = frozenset(h.parser_name for h in workspace.parsers.paused())
        self.post_message(JobQueueRead(rows, paused, status))

    def action_show_audit(self) -> None:
        """The audit trail: who did what (filterable)."""
        from .audit import AuditScreen

        self.app.push_screen(AuditScreen())

    def show_status(self, status: str | None) -> None:
        """Show only jobs of ``status`` (Home's "Needs you" opens Jobs on the failed ones)."""
        self.status_filter = status
        self.clear_error()
        self.load_jobs()

    def action_cycle_status(self) -> None:
        """Show only failed jobs, then dead letters, queued, … and back to every job."""
        position = STATUS_FILTERS.index(self.status_filter)
        self.status_filter = STATUS_FILTERS[(position + 1) % len(STATUS_FILTERS)]
        self.clear_error()  # an error about a job of the old view no longer applies
        self.load_jobs()

    def on_job_queue_read(self, message: JobQueueRead) -> None:
        if message.status != self.status_filter:
            return  # read before the filter changed (a thread worker runs on when replaced)
        self.jobs = message.rows
        self.paused = message.paused
        self._fill(message.rows)
        counts: dict[str, int] = {}
        for job in message.rows:
            counts[job.status] = counts.get(job.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no jobs"
        blocked = sum(1 for job in message.rows if job_state_cell(job, self.paused) == BLOCKED)
        if blocked:
            summary += f" ({blocked:,} blocked: their parser is paused, u in Process resumes)"
        if self.status_filter is not None:
            summary = f"showing {status_cell(self.status_filter)} only (s: next) · {summary}"
        self.query_one("#jobs-status", Static).update(summary)
        shown = next((job for job in message.rows if job.id == self.detail_job_id), None)
        if shown is not None and shown.status != self.detail_status:
            self.load_detail(shown.id)  # the job the detail shows moved on: re-read it

    def _fill(self, rows: list[Any]) -> None:
        """Show ``rows``; a refresh keeps the cursor on its job and the view where it was (the
        periodic one must not pull a list the user scrolls with the wheel back to the top)."""
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        selected = None
        if table.row_count:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            selected = int(row_key.value) if row_key.value is not None else None
        scroll_x, scroll_y = table.scroll_x, table.scroll_y
        table.clear()
        now = self.casparian.clock()
        for job in rows:
            table.add_row(
                job_state_cell(job, self.paused),
                str(job.id),
                f"{job.parser_name} {job.parser_version}",
                Text(tail_path(job.input_path, self.file_width)),
                job_duration(job, now),
                key=str(job.id),
            )
        if rows:
            ids = [job.id for job in rows]
            row = ids.index(selected) if selected in ids else min(cursor, len(rows) - 1)
            table.move_cursor(row=row, scroll=False)
            # after the rows are measured and the cursor's own scroll into view
            table.call_after_refresh(
                table.scroll_to, scroll_x, scroll_y, animate=False, immediate=True
            )

    def job_to_explain(self) -> int | str | None:
        job = self.current_job
        return job.id if explainable(job) else None

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
            if self.detail_job_id is not None and job.id != self.detail_job_id:
                self.load_detail(job.id)  # an expanded detail follows the cursor

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
        job = workspace.jobs.get(job_id)
        log_path = workspace.jobs.log_path(job_id)
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
            *self._blocked_lines(job),
            f"parser   {escape(job.parser_name)} {escape(job.parser_version)}",
            f"input    {escape(job.input_path)}",
            f"retries  {job.retry_count}",
            f"rows     {job.rows_written:,} written, {job.rows_quarantined:,} quarantined",
            "outputs  " + (escape(", ".join(job.output_paths)) or "none"),
        ]
        lines += error_lines(job)
        lines += ["", f"[b]log[/b] {escape(log_path)}", escape(log_tail) or "(empty)"]
        self.query_one("#job-detail", Static).update("\n".join(lines))

    def _blocked_lines(self, job: Job) -> list[str]:
        if job_state_cell(job, self.paused) != BLOCKED:
            return []
        name = escape(job.parser_name)
        return [f"[b]{BLOCKED}[/b]: {name} is paused; press u on {name} in Process to resume"]

    def action_retry_job(self) -> None:
        job = self.current_job
        if job is None:
            return
        if not is_replayable(job.status):
            self.show_error(
                f"job {job.id} is {job.status}: only failed, dead-lettered or cancelled jobs "
                "can be retried"
            )
            return
        self.act_on_job(job.id, "retry")

    def action_cancel_job(self) -> None:
        job = self.current_job
        if job is None:
            return
        if not is_live(job.status):
            self.show_error(f"job {job.id} is {job.status}: only queued or running jobs cancel")
            return
        self.act_on_job(job.id, "cancel")

    @work(thread=True, exclusive=True, exit_on_error=False, group="jobs-act")
    def act_on_job(self, job_id: int, action: str) -> None:
        workspace = self.service.workspace
        done = workspace.jobs.retry(job_id) if action == "retry" else workspace.jobs.cancel(job_id)
        verb = "requeued" if action == "retry" else "cancelled"
        text = f"job {job_id} {verb}" if done else f"job {job_id} could not be {verb}"
        job = workspace.jobs.get(job_id) if done and action == "retry" else None
        run_parser = ""
        if job is not None:
            health = workspace.parsers.health(job.parser_name)
            paused = health is not None and health.paused_at is not None
            text = requeued_text(job_id, job.parser_name, paused)
            run_parser = "" if paused else job.parser_name
            if not paused and workspace.parsers.get(job.parser_name, job.parser_version) is None:
                run_parser = ""
                text = (
                    f"job {job_id} requeued; {job.parser_name} {job.parser_version} is not "
                    "registered, so it waits (casparian parser register <folder>)"
                )
        self.post_message(JobActed(job_id, action, text, run_parser))

    def on_job_acted(self, message: JobActed) -> None:
        if message.run_parser:  # a retry runs: the parser's queue, the retried job in it
            self.service.start_run(message.run_parser, queue_matching=False)
        self.report_done(message.result_text)
        self.load_jobs()
        if message.job_id == self.detail_job_id:
            self.load_detail(message.job_id)  # the header must not keep saying ✗ failed
