"""Process: registered parsers, the files each one matches, and live runs (r runs, s stops)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static

from casparian_engine.job_states import JobState
from casparian_engine.wording import counted
from casparian_engine.workspace import QuarantineFilter

from ..actions import bindings_for
from ..assistant import ExplainFailure
from ..messages import ParserFilesListed
from ..services import NO_WORK, RunState
from ..widgets.run_progress import RunProgress, run_label
from .base import ModeScreen, fitted_width, tail_path
from .dialogs import DetailsDialog
from .jobs import STATUS_ICONS, status_cell
from .process_workflow import ProcessWorkflow

if TYPE_CHECKING:
    from casparian_engine.workspace.results import ParserHealth, ParserOverview

FILES_PAGE = 100
MIN_PATH_WIDTH = 20
NAME_COLUMN = ("parser", "name")
MIN_NAME_WIDTH = 6
MIN_READABLE_NAME = 10
"""A name column narrower than this drops the version column, then the run column."""
FIXED_PARSER_COLUMNS = (("ver", "version", 6), ("files", "matched", 6),
                        ("last run", "last", 14), ("run", "run", 12))  # fmt: skip
NO_PARSERS = "No parsers registered yet: n registers one from its folder"


def text_cell(value: object) -> Text:
    """A parser name or version shown literally, ending in '…' when its column is narrower."""
    return Text(str(value), overflow="ellipsis", no_wrap=True, end="")


def run_cell(state: RunState | None) -> str:
    """The parser table's short 'run' column: running figures, or how the last run ended."""
    if state is None:
        return ""
    if state.running:
        if state.outcome.startswith("stopping"):
            return "■ stopping"
        return f"▶ {state.done}/{state.total}" if state.total else "▶ starting"
    if state.outcome.startswith(NO_WORK):
        return "■ no work"
    if state.outcome.startswith("failed"):
        return "✗ failed"
    if every_file_failed(state):
        return "✗ all failed"
    if state.failed:
        return f"✗ {state.failed:,} failed"
    word = state.outcome.split(":")[0]
    return ("⚠ " if state.quarantined_rows else "■ ") + word


def every_file_failed(state: RunState) -> bool:
    """A run that finished files, every one of them failed (``done`` counts failed files)."""
    return state.done > 0 and state.failed >= state.done


@dataclass(frozen=True)
class ParserJobs:
    """What a parser's jobs add up to: its counts by state, quarantined rows, and whether a
    run of it is under way (the TUI's own, or jobs running)."""

    counts: dict[str, int] = field(default_factory=dict)
    quarantined_rows: int = 0
    running: bool = False

    def count(self, *states: str) -> int:
        return sum(self.counts.get(state, 0) for state in states)

    @property
    def headline(self) -> str:
        """The worst of how its jobs ended: '✗ every file failed', '⚠ completed with warnings'."""
        failed = self.count(JobState.FAILED, JobState.DEAD_LETTER)
        done = self.count(JobState.COMPLETED, JobState.COMPLETED_WITH_WARNINGS)
        if self.running or self.count(JobState.RUNNING):
            return "▶ running"
        if failed and not done:
            return "✗ every file failed"
        if failed:
            return "✗ completed with failures"
        if self.count(JobState.COMPLETED_WITH_WARNINGS) or self.quarantined_rows:
            return "⚠ completed with warnings"
        if done and self.count(JobState.QUEUED, JobState.CANCELLED):
            return "◐ partly done"  # a stopped run, or files queued since: not all completed
        if done:
            return "✓ completed"
        if self.count(JobState.QUEUED):
            return "⏳ queued"
        if self.count(JobState.CANCELLED):
            return "⊘ cancelled"
        return "never run"

    @property
    def cell(self) -> str:
        """The headline cut to the 'last run' column."""
        headline = self.headline
        if headline.startswith("✗ every"):
            return "✗ all failed"
        if headline.startswith("✗ completed"):
            return f"✗ {self.count(JobState.FAILED, JobState.DEAD_LETTER):,} failed"
        if headline.startswith("⚠"):
            return "⚠ warnings"
        return headline

    @property
    def details(self) -> list[str]:
        """The figures behind the headline: problems first, then what waits."""
        parts = []
        for states, words in (
            ((JobState.COMPLETED_WITH_WARNINGS,), "with warnings"),
            ((JobState.FAILED,), "failed"),
            ((JobState.DEAD_LETTER,), "dead letters"),
            ((JobState.QUEUED,), "queued"),
            ((JobState.RUNNING,), "running"),
        ):
            if number := self.count(*states):
                parts.append(f"{counted(number, 'file')} {words}")
        if self.quarantined_rows:
            parts.append(f"{counted(self.quarantined_rows, 'row')} quarantined")
        return parts


def last_run_cell(parser: ParserOverview, jobs: ParserJobs | None = None) -> str:
    """How the parser's jobs stand, or '⏸ paused' while its circuit breaker holds its jobs."""
    if parser.paused:
        return "⏸ paused"
    if jobs is None:
        status = str(parser.last_run_status)
        return status_cell(status) if status in STATUS_ICONS else status  # 'never run' stays
    return jobs.cell


PAUSE_REASON_CHARS = 120
"""How much of a paused parser's last failure the status line shows (its end gets '…')."""


def pause_text(name: str, health: ParserHealth, queued: int, whole: bool = False) -> str:
    """'⏸ invoices paused by its circuit breaker · u resumes · 12 queued files wait · since …
    · last failure: …': the key first, the long reason last and cut with '…' (unless
    ``whole``: the message dialog, m, shows it all)."""
    reason = str(health.last_failure_reason or "unknown")
    if len(reason) > PAUSE_REASON_CHARS and not whole:
        reason = reason[: PAUSE_REASON_CHARS - 1] + "…"
    since = time.strftime("%Y-%m-%d %H:%M", time.localtime(health.paused_at))
    waiting = f" · {counted(queued, 'queued file')} wait" if queued else ""
    return (
        f"⏸ {name} paused by its circuit breaker · u resumes{waiting} · since {since}"
        f" · last failure: {reason}"
    )


@dataclass
class ParsersRead(Message):
    """The registered parsers were read, with their quarantined rows and circuit breakers."""

    rows: list[Any]
    quarantined: dict[str, int]
    health: dict[str, Any]


@dataclass
class ParserResumed(Message):
    """A paused parser's circuit breaker was cleared (``resumed`` is False if it was not
    paused any more)."""

    parser_name: str
    resumed: bool


class ProcessScreen(ExplainFailure, ProcessWorkflow, ModeScreen):
    """Parsers (left), the highlighted parser's matched files (right), run bars (bottom); n
    registers, c shows contracts, d dev-runs picked samples, b backfills (``ProcessWorkflow``)."""

    MODE = "process"
    HEADING = "Process"
    MAIN_WIDGET = "#parsers-table"
    BINDINGS = bindings_for("process")

    def __init__(self) -> None:
        super().__init__()
        self.parsers: list[Any] = []
        self.parser_name = ""
        self.files_offset = 0
        self.files_total = 0
        self.file_paths: list[str] = []
        self.sample_paths: set[str] = set()  # matched files picked for a dev run (space)
        self.ended_runs: dict[str, str] = {}
        self.quarantined: dict[str, int] = {}  # quarantined rows per parser
        self.health: dict[str, Any] = {}  # the circuit breakers of paused parsers
        self.parser_columns = [key for _, key, _ in FIXED_PARSER_COLUMNS]  # shown, in order
        self.status_whole = ""  # the status line's text, uncut (m shows it)

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="split"):
            parsers: DataTable[str] = DataTable(id="parsers-table", cursor_type="row")
            yield parsers
            with Vertical(id="parser-files-pane"):
                yield Static("Highlight a parser to list its files.", id="parser-files-title")
                files: DataTable[str] = DataTable(id="parser-files", cursor_type="row")
                yield files
        yield VerticalScroll(id="runs")  # a line per run; scrolls rather than hiding any
        yield Static("", id="process-status")

    def on_mount(self) -> None:
        super().on_mount()
        self._add_parser_columns()
        self.query_one("#parsers-table", DataTable).focus()
        self.service.changed.subscribe(self, self._on_service_changed)
        self._render_runs()
        self.load_parsers()

    def on_screen_resume(self) -> None:
        self.ended_runs = {n: s.outcome for n, s in self.service.runs.items() if not s.running}
        self.load_parsers()

    # --- parsers ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="process-parsers")
    def load_parsers(self) -> None:
        workspace = self.service.workspace
        rows = workspace.parsers.overview()
        quarantined = {
            row.name: workspace.quarantine.count(QuarantineFilter(parser_name=row.name))
            for row in rows
        }
        health = {h.parser_name: h for h in workspace.parsers.paused()}
        self.post_message(ParsersRead(rows, quarantined, health))

    def _add_parser_columns(self) -> None:
        """Fixed columns; the name takes what is left, so an open sidebar hides no column. In
        a narrow table (80 columns) the version, then the run figures, give way to the name
        (the status line and the run bars below say the same)."""
        table = self.query_one("#parsers-table", DataTable)
        columns = list(FIXED_PARSER_COLUMNS)
        for droppable in ("version", "run"):
            fixed = sum(width for _, _, width in columns)
            if table.size.width - fixed - 2 * (len(columns) + 1) - 2 >= MIN_READABLE_NAME:
                break
            columns = [column for column in columns if column[1] != droppable]
        fixed = sum(width for _, _, width in columns)
        name_width = fitted_width(table.size.width, fixed, len(columns) + 1, MIN_NAME_WIDTH)
        self.parser_columns = [key for _, key, _ in columns]
        table.clear(columns=True)
        table.add_column(NAME_COLUMN[0], key=NAME_COLUMN[1], width=name_width)
        for label, key, width in columns:
            table.add_column(label, key=key, width=width)

    def on_parsers_read(self, message: ParsersRead) -> None:
        self.parsers = message.rows
        self.quarantined, self.health = message.quarantined, message.health
        self._fill_parsers()
        if message.rows:
            table = self.query_one("#parsers-table", DataTable)
            self._open_parser(self.parsers[table.cursor_row].name,
                              force=True)  # fmt: skip
        self._show_parser_status()

    def _fill_parsers(self) -> None:
        """Refill the table; the cursor stays on the parser it was on (a parser registered or
        removed meanwhile, from the CLI say, shifts the rows, never what r would run)."""
        table = self.query_one("#parsers-table", DataTable)
        names = [parser.name for parser in self.parsers]
        cursor = names.index(self.parser_name) if self.parser_name in names else table.cursor_row
        table.clear()
        for parser in self.parsers:
            cells = {
                "version": text_cell(parser.version),
                "matched": f"{parser.matched_file_count:,}",
                "last": last_run_cell(parser, self.parser_jobs(parser)),
                "run": run_cell(self.service.runs.get(parser.name)),
            }
            shown = [cells[key] for key in self.parser_columns]
            table.add_row(text_cell(parser.name), *shown, key=parser.name)
        if self.parsers:
            table.move_cursor(row=min(cursor, len(self.parsers) - 1), scroll=False)

    def parser_jobs(self, parser: ParserOverview) -> ParserJobs:
        state = self.service.runs.get(parser.name)
        return ParserJobs(
            dict(parser.job_counts),
            self.quarantined.get(parser.name, 0),
            state is not None and state.running,
        )

    def _show_parser_status(self) -> None:
        """How the highlighted parser's jobs stand (problems and waiting files included), or
        why it is paused and how to resume it."""
        parser = self.current_parser
        if parser is None:
            self._status(NO_PARSERS)
            return
        jobs = self.parser_jobs(parser)
        health = self.health.get(parser.name)
        if parser.paused and health is not None:
            queued = jobs.count(JobState.QUEUED)
            self._status(escape(pause_text(parser.name, health, queued)))
            self.status_whole = pause_text(parser.name, health, queued, whole=True)
        elif parser.paused:
            self._status(f"⏸ {escape(parser.name)} {escape(parser.paused)}")
        else:
            notes = [f"{parser.name}: {jobs.headline}", *jobs.details]
            self._status(escape(" · ".join(notes + self.workflow_notes(parser.name))))

    def show_parser(self, name: str) -> None:
        """Put the cursor on parser ``name`` (Home's "Needs you" opens Process on it)."""
        self.parser_name = name
        names = [parser.name for parser in self.parsers]
        if name in names:
            self.query_one("#parsers-table", DataTable).move_cursor(row=names.index(name))
        self.load_parsers()  # the cursor follows parser_name when the list is read again

    def job_to_explain(self) -> int | str | None:
        parser = self.current_parser
        return parser.name if parser is not None else None  # its latest failed or warned job

    @property
    def current_parser(self) -> Any:
        table = self.query_one("#parsers-table", DataTable)
        if not self.parsers or table.cursor_row >= len(self.parsers):
            return None
        return self.parsers[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "parsers-table" and self.current_parser is not None:
            self._open_parser(self.current_parser.name)
        elif event.data_table.id == "parser-files" and event.cursor_row < len(self.file_paths):
            self.set_selection(self.file_paths[event.cursor_row])

    def _open_parser(self, name: str, force: bool = False) -> None:
        if name == self.parser_name and not force:
            return
        if name != self.parser_name:
            self.files_offset = 0
            self.sample_paths = set()
        self.parser_name = name
        self._show_parser_status()
        self.set_selection(f"parser {name}")
        self.load_files(name, self.files_offset)

    # --- matched files (paged) ----------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="process-files")
    def load_files(self, parser_name: str, offset: int) -> None:
        page = self.service.workspace.parsers.matched_files(parser_name, offset, FILES_PAGE)
        self.post_message(ParserFilesListed(parser_name, page.paths, page.total, page.offset))

    def on_parser_files_listed(self, message: ParserFilesListed) -> None:
        if message.parser_name != self.parser_name:
            return  # an answer for a parser no longer highlighted
        self.file_paths, self.files_offset = message.paths, message.offset
        self.files_total = message.total
        self._fill_files(keep_cursor=False)
        first = message.offset + 1 if message.total else 0
        last = message.offset + len(message.paths)
        title = f"[b]{escape(message.parser_name)}[/b] matches {counted(message.total, 'file')}"
        if message.total:
            title += f" · {first:,}–{last:,}"
        self.query_one("#parser-files-title", Static).update(title)

    def _fill_files(self, keep_cursor: bool = True) -> None:
        """Show the page's paths cut on the left to the pane's width (the file names stay)."""
        files = self.query_one("#parser-files", DataTable)
        width = fitted_width(files.size.width, 0, 1, MIN_PATH_WIDTH)
        cursor = files.cursor_row if keep_cursor else 0
        files.clear(columns=True)
        files.add_column("matched file", key="path", width=width)
        for path in self.file_paths:
            mark = "✓ " if path in self.sample_paths else ""
            files.add_row(Text(mark + tail_path(path, width - len(mark))))
        if self.file_paths:
            files.move_cursor(row=min(cursor, len(self.file_paths) - 1), scroll=False)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_tables)

    def _sync_sidebar(self, visible: bool) -> None:
        super()._sync_sidebar(visible)
        self.set_class(visible, "-sidebar-open")  # the files pane narrows before the parsers
        self.call_after_refresh(self._fit_tables)

    def _fit_tables(self) -> None:
        self._add_parser_columns()
        self._fill_parsers()
        self._fill_files()

    def action_page(self, step: int) -> None:
        offset = self.files_offset + step * FILES_PAGE
        if self.parser_name and 0 <= offset < max(self.files_total, 1):
            self.load_files(self.parser_name, offset)

    # --- runs (held by the app service, so switching modes loses nothing) -----------------
    def action_run_parser(self) -> None:
        parser = self.current_parser
        if parser is None:
            self.show_error(NO_PARSERS)
            return
        if parser.paused:
            self.show_error(f"{parser.name} is paused by its circuit breaker: u resumes it")
            self.load_parsers()  # resumed from the command line meanwhile? r works again
            return
        self.clear_error()
        if not self.service.start_run(parser.name):
            self.notify(f"{parser.name} is already running; press s to stop it.", markup=False)

    def action_resume_parser(self) -> None:
        """Clear the highlighted parser's circuit breaker, so its queued jobs can run again."""
        parser = self.current_parser
        if parser is None:
            self.show_error(NO_PARSERS)
            return
        if not parser.paused:
            self.show_error(f"{parser.name} is not paused: u resumes a parser its breaker paused")
            return
        self.clear_error()
        self.resume_parser(parser.name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="process-resume")
    def resume_parser(self, name: str) -> None:
        self.post_message(ParserResumed(name, self.service.workspace.parsers.resume(name)))

    def on_parser_resumed(self, message: ParserResumed) -> None:
        name = message.parser_name
        if message.resumed:
            self.report_done(f"{name} resumed: r runs it (its queued files first)")
        else:
            self.notify(f"{name} was already resumed", markup=False)
        self.load_parsers()

    def action_stop_parser(self) -> None:
        parser = self.current_parser
        if parser is None:
            return
        if not self.service.stop_run(parser.name) and not self.stop_dev_run():
            self.show_error(f"{parser.name} is not running: r starts it")

    def _on_service_changed(self, what: str) -> None:
        if what != "run":
            return
        self._render_runs()
        table = self.query_one("#parsers-table", DataTable)
        for parser in self.parsers:
            if "run" in self.parser_columns:
                run = run_cell(self.service.runs.get(parser.name))
                table.update_cell(parser.name, "run", run)
            table.update_cell(parser.name, "last", last_run_cell(parser, self.parser_jobs(parser)))
        self._show_parser_status()
        ended = {n: s.outcome for n, s in self.service.runs.items() if not s.running}
        if ended != self.ended_runs and self.is_current:  # a run ended: its status changed
            self.ended_runs = ended
            self.load_parsers()  # a hidden screen reloads when it is shown again

    def _render_runs(self) -> None:
        pane = self.query_one("#runs", VerticalScroll)
        shown = {panel.state.parser_name: panel for panel in pane.query(RunProgress)}
        for name, state in self.service.runs.items():
            if name in shown:
                shown[name].show(state)
            else:
                pane.mount(RunProgress(state))
        pane.display = bool(self.service.runs)

    def _status(self, text: str) -> None:
        """Show a status (markup); its whole text is that text unless the caller then sets
        ``status_whole`` to a longer one."""
        status = self.query_one("#process-status", Static)
        status.update(text)
        self.status_whole = Content.from_markup(text).plain

    # --- every message in full (m): the status line and run lines cut long text -------------
    def message_facts(self) -> dict[str, str]:
        """The highlighted parser's messages, whole: its status, its run (or how the last one
        ended) and the error line."""
        facts = {"status": self.status_whole}
        parser = self.current_parser
        state = self.service.runs.get(parser.name) if parser is not None else None
        if state is not None:
            facts["run"] = Content.from_markup(run_label(state)).plain
        if self.error_text:
            facts["error"] = self.error_text
        return facts

    def action_show_message(self) -> None:
        parser = self.current_parser
        title = f"{parser.name}: every message in full" if parser else "Process"
        self.app.push_screen(DetailsDialog(title, self.message_facts()))
