"""Process: registered parsers, the files each one matches, and live runs (r runs, s stops)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from casparian_engine.cli.common import counted

from ..actions import bindings_for
from ..messages import ParserFilesListed, ParsersListed
from ..services import NO_WORK, RunState
from ..widgets.run_progress import RunProgress
from .base import ModeScreen, fitted_width, tail_path
from .jobs import STATUS_ICONS, status_cell

FILES_PAGE = 100
MIN_PATH_WIDTH = 20
NAME_COLUMN = ("parser", "name")
MIN_NAME_WIDTH = 6
FIXED_PARSER_COLUMNS = (("ver", "version", 6), ("files", "matched", 6),
                        ("last run", "last", 11), ("run", "run", 10))  # fmt: skip
NO_PARSERS = "No parsers registered yet: casparian parser register <folder>"


def text_cell(value: object) -> Text:
    """A parser name or version shown literally, ending in '…' when its column is narrower."""
    return Text(str(value), overflow="ellipsis", no_wrap=True, end="")


def run_cell(state: RunState | None) -> str:
    """The parser table's short 'run' column: running figures, or how the last run ended."""
    if state is None:
        return ""
    if state.running:
        return f"▶ {state.done}/{state.total}" if state.total else "▶ starting"
    if state.outcome.startswith(NO_WORK):
        return "■ no work"
    return "✗ failed" if state.outcome.startswith("failed") else "■ " + state.outcome.split(":")[0]


def last_run_cell(parser: Any) -> str:
    """How the parser last ran, or '⏸ paused' while its circuit breaker holds its jobs."""
    if parser.paused:
        return "⏸ paused"
    status = str(parser.last_run_status)
    return status_cell(status) if status in STATUS_ICONS else status  # 'never run' stays


class ProcessScreen(ModeScreen):
    """Parsers (left), the highlighted parser's matched files (right), run bars (bottom)."""

    MODE = "process"
    HEADING = "Process"
    BINDINGS = bindings_for("process")

    def __init__(self) -> None:
        super().__init__()
        self.parsers: list[Any] = []
        self.parser_name = ""
        self.files_offset = 0
        self.files_total = 0
        self.file_paths: list[str] = []
        self.ended_runs: dict[str, str] = {}

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="split"):
            parsers: DataTable[str] = DataTable(id="parsers-table", cursor_type="row")
            yield parsers
            with Vertical(id="parser-files-pane"):
                yield Static("Highlight a parser to list its files.", id="parser-files-title")
                files: DataTable[str] = DataTable(id="parser-files", cursor_type="row")
                yield files
        yield Vertical(id="runs")
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
        self.post_message(ParsersListed(self.service.workspace.parser_overview()))

    def _add_parser_columns(self) -> None:
        """Fixed columns; the name takes what is left, so an open sidebar hides no column."""
        table = self.query_one("#parsers-table", DataTable)
        fixed = sum(width for _, _, width in FIXED_PARSER_COLUMNS)
        count = len(FIXED_PARSER_COLUMNS) + 1
        name_width = fitted_width(table.size.width, fixed, count, MIN_NAME_WIDTH)
        table.clear(columns=True)
        table.add_column(NAME_COLUMN[0], key=NAME_COLUMN[1], width=name_width)
        for label, key, width in FIXED_PARSER_COLUMNS:
            table.add_column(label, key=key, width=width)

    def on_parsers_listed(self, message: ParsersListed) -> None:
        self.parsers = message.rows
        self._fill_parsers()
        if message.rows:
            table = self.query_one("#parsers-table", DataTable)
            self._open_parser(self.parsers[table.cursor_row].name, force=True)
        self._show_parser_status()

    def _fill_parsers(self) -> None:
        table = self.query_one("#parsers-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for parser in self.parsers:
            table.add_row(
                text_cell(parser.name),
                text_cell(parser.version),
                f"{parser.matched_file_count:,}",
                last_run_cell(parser),
                run_cell(self.service.runs.get(parser.name)),
                key=parser.name,
            )
        if self.parsers:
            table.move_cursor(row=min(cursor, len(self.parsers) - 1), scroll=False)

    def _show_parser_status(self) -> None:
        """The parser count, or why the highlighted parser is paused and how to resume it."""
        parser = self.current_parser
        if parser is not None and parser.paused:
            self._status(f"⏸ {escape(parser.name)} {escape(parser.paused)}")
        else:
            self._status(counted(len(self.parsers), "parser") if self.parsers else NO_PARSERS)

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
        self.parser_name = name
        self._show_parser_status()
        self.set_selection(f"parser {name}")
        self.load_files(name, self.files_offset)

    # --- matched files (paged) ----------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="process-files")
    def load_files(self, parser_name: str, offset: int) -> None:
        page = self.service.workspace.matched_files(parser_name, offset, FILES_PAGE)
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
            files.add_row(Text(tail_path(path, width)))
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
            self.show_error(f"{parser.name} is {parser.paused}")
            self.load_parsers()  # resumed from the command line meanwhile? r works again
            return
        self.clear_error()
        self.service.start_run(parser.name)

    def action_stop_parser(self) -> None:
        parser = self.current_parser
        if parser is None:
            return
        if not self.service.stop_run(parser.name):
            self.show_error(f"{parser.name} is not running: r starts it")

    def _on_service_changed(self, what: str) -> None:
        if what != "run":
            return
        self._render_runs()
        table = self.query_one("#parsers-table", DataTable)
        for parser in self.parsers:
            table.update_cell(parser.name, "run", run_cell(self.service.runs.get(parser.name)))
        ended = {n: s.outcome for n, s in self.service.runs.items() if not s.running}
        if ended != self.ended_runs and self.is_current:  # a run ended: its status changed
            self.ended_runs = ended
            self.load_parsers()  # a hidden screen reloads when it is shown again

    def _render_runs(self) -> None:
        pane = self.query_one("#runs", Vertical)
        shown = {panel.state.parser_name: panel for panel in pane.query(RunProgress)}
        for name, state in self.service.runs.items():
            if name in shown:
                shown[name].show(state)
            else:
                pane.mount(RunProgress(state))
        pane.display = bool(self.service.runs)

    def _status(self, text: str) -> None:
        self.query_one("#process-status", Static).update(text)
