"""Inspect: output tables → column stats → a column's histogram, and a SQL editor over the
outputs and the quarantine whose result grid reads rows from DuckDB as it scrolls.

What the grid shows, what the filter and status lines say and what export writes are one view:
a table (maybe filtered) or a query, maybe sorted by a column. The view changes only when the
engine has opened it, so a refused filter or query leaves the last good one in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from casparian_engine.sql_quoting import quote_identifier
from casparian_engine.wording import counted

from ..actions import bindings_for
from ..assistant import InspectAnomalies
from ..messages import (
    FilterChecked,
    HistoryLoaded,
    QuarantineListed,
    QueryNamesRead,
    SourceLineRead,
    TablesListed,
    ViewExported,
    ViewFailed,
    ViewOpened,
)
from ..widgets.histogram import Histogram
from ..widgets.quarantine_pane import QuarantinePane
from ..widgets.result_grid import WINDOW_ROWS, ResultGrid
from ..widgets.sql_editor import SqlEditor
from .base import ModeScreen
from .dialogs import PromptDialog
from .export_dialog import ExportDialog
from .inspect_stats import NO_HISTOGRAM, STAT_COLUMNS, InspectStats, cell
from .quarantine_replay import QuarantineReplay

if TYPE_CHECKING:
    from casparian_engine.workspace.results import OutputInspector, TableSummary

QUARANTINE_PAGE = 50
# "files": the source files a table's rows came from (by lineage), not its Parquet parts.
TABLE_COLUMNS = (("table", 16), ("rows", 10), ("files", 6))
NO_LINEAGE = "–"  # parts written without lineage columns cannot say which files fed them


def source_files(table: TableSummary) -> str:
    """How many source files fed a table, or '–' when its parts carry no lineage."""
    return NO_LINEAGE if table.source_count is None else f"{table.source_count:,}"


def one_line(sql: str) -> str:
    """A query on one line (its whitespace runs made single spaces), for the filter line."""
    return " ".join(sql.split())


class InspectScreen(InspectStats, QuarantineReplay, InspectAnomalies, ModeScreen):
    """Browse the outputs without loading them: stats from SUMMARIZE, rows read as they scroll."""

    MODE = "inspect"
    HEADING = "Inspect"
    BINDINGS = bindings_for("inspect")
    MAIN_WIDGET = "#tables-list"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # styles/modes.tcss: 80x24 is short

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Any] = []
        self.table_name = ""  # the table the user chose: state, never re-read from a cursor
        self.predicate = ""  # the table view's filter
        self.sql = ""  # the query view's SQL; "" while the view is the table
        self.order: list[tuple[int, bool]] = []  # (column, descending): the view's sort
        self.view_generation = 0  # the last view asked for; older answers are dropped
        self.shown_generation = -1  # the view whose rows are on screen
        self.row_total = 0
        self.view_notes: list[str] = []  # the engine's notes on the view (BLOBs as hex)
        self.export_note = ""  # the last export, said after the rows it wrote
        self.completion_note = ""
        self.editor_shown = False
        self.quarantine_mode = False
        self.quarantine_rows: list[Any] = []
        self.quarantine_total = 0
        self.quarantine_pages: list[int] = [0]  # after_id of each page shown so far
        self.quarantine_steps_queued = 0  # ] presses made while the next page was loading
        self.quarantine_shown_after = -1  # after_id of the page on screen (-1: none yet)
        self.init_stats()
        self.query_names: dict[str, list[str]] = {}  # those of the last ``s``, the quarantine's too

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="split", id="outputs-view"):
            tables: DataTable[str] = DataTable(id="tables-list", cursor_type="row")
            yield tables
            with Vertical(id="inspect-detail"):
                stats: DataTable[str] = DataTable(id="stats", cursor_type="row")
                yield stats
                yield Histogram(NO_HISTOGRAM, id="histogram")
        editor = SqlEditor(id="sql-editor")
        editor.display = False
        yield editor
        yield Vertical(id="rows-pane")
        quarantine = QuarantinePane(id="quarantine-pane", classes="split")
        quarantine.display = False
        yield quarantine
        yield Static("", id="inspect-filter")
        yield Static("", id="inspect-status")

    def on_mount(self) -> None:
        super().on_mount()
        for table_id, columns in (("#tables-list", TABLE_COLUMNS), ("#stats", STAT_COLUMNS)):
            grid = self.query_one(table_id, DataTable)
            for label, width in columns:  # fixed: never depends on which rows came first
                grid.add_column(label, width=width, key=label)
        self.query_one("#tables-list", DataTable).focus()
        self._render_status()
        self.load_tables()
        self.load_history()

    def on_screen_resume(self) -> None:
        self.load_tables()

    @property
    def inspector(self) -> OutputInspector:
        return self.service.workspace.outputs.inspector()

    @property
    def grid(self) -> ResultGrid | None:
        found = self.query("#rows")
        return found.first(ResultGrid) if found else None

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-tables")
    def load_tables(self) -> None:
        self.post_message(TablesListed(self.service.workspace.outputs.tables()))

    def on_tables_listed(self, message: TablesListed) -> None:
        """Refill the list, keeping the cursor on the chosen table (a reload must not switch)."""
        same_names = [t.name for t in message.tables] == [t.name for t in self.tables]
        self.tables = message.tables
        listing = self.query_one("#tables-list", DataTable)
        if same_names and listing.row_count == len(message.tables):
            for table in message.tables:
                listing.update_cell(table.name, "rows", cell(f"{table.row_count:,}"))
                listing.update_cell(table.name, "files", cell(source_files(table)))
        else:
            listing.clear()
            for table in message.tables:
                listing.add_row(
                    cell(table.name),
                    cell(f"{table.row_count:,}"),
                    cell(source_files(table)),
                    key=table.name,
                )
            names = [t.name for t in message.tables]
            if self.table_name in names:
                listing.move_cursor(row=names.index(self.table_name))
        if not message.tables or not self.table_name:
            self._render_status()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "quarantine-list":
            if event.cursor_row < len(self.quarantine_rows):
                self.open_quarantined(self.quarantine_rows[event.cursor_row])
        elif event.data_table.id == "tables-list" and event.cursor_row < len(self.tables):
            if event.cursor_row == event.data_table.cursor_row:  # not a stale highlight
                self.open_table(self.tables[event.cursor_row].name)
        elif event.data_table.id == "stats":
            self.show_histogram_of(event.cursor_row)

    def open_table(self, name: str) -> None:
        if name == self.table_name:
            return
        self.table_name, self.predicate = name, ""
        self.export_note = ""
        self.set_selection(name)
        self.histogram_column = ""
        self.show_table_view()

    def show_table_view(self) -> None:
        """The table and its filter: its stats, and its rows in the grid."""
        self.clear_error()
        row_count = next((t.row_count for t in self.tables if t.name == self.table_name), 0)
        self.table_stats(row_count)
        self.open_view(sql="", order=[])

    def table_sql(self, table: str, predicate: str) -> str:
        sql = f"SELECT * FROM {quote_identifier(table)}"
        return sql + f" WHERE ({predicate})" if predicate.strip() else sql

    def open_view(self, sql: str, order: list[tuple[int, bool]]) -> None:
        """Ask the engine for a view: the table (``sql`` empty) with its filter, or a query."""
        self.view_generation += 1
        text = sql or self.table_sql(self.table_name, self.predicate)
        self.load_view(self.view_generation, self.table_name, self.predicate, sql, text, order)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-rows")
    def load_view(
        self,
        generation: int,
        table: str,
        predicate: str,
        sql: str,
        text: str,
        order: list[tuple[int, bool]],
    ) -> None:
        from casparian_engine.catalog import QueryRefused

        workspace = self.service.workspace
        try:
            catalog = workspace.outputs.catalog(with_quarantine=bool(sql))
            result = catalog.open_result(text)
            first = result.window(0, WINDOW_ROWS, order)
            total = result.row_count()
            names = catalog.column_names()
        except QueryRefused as exc:
            self.post_message(ViewFailed(generation, sql, str(exc)))
            return
        history: tuple[str, ...] = ()
        if sql:
            queries = workspace.outputs.query_history()
            queries.add(sql)
            history = queries.queries
        self.post_message(
            ViewOpened(generation, table, predicate, sql, order, result, first, total, names,
                       history)
        )  # fmt: skip

    async def on_view_opened(self, message: ViewOpened) -> None:
        if message.generation != self.view_generation:
            return  # a view asked for before the last one
        if (message.table, message.predicate) != (self.table_name, self.predicate):
            return  # the table or its filter changed meanwhile; that view is coming
        self.sql, self.order = message.sql, list(message.order)
        self.row_total, self.shown_generation = message.total, message.generation
        self.view_notes = list(message.result.notes)
        editor = self.query_one(SqlEditor)
        editor.names = {**self.query_names, **message.names}  # a table view has no quarantine
        if message.sql:
            editor.set_history(message.history)
            self.result_stats(message.sql, message.result, message.total)
        result, order = message.result, list(message.order)

        def read(offset: int, limit: int) -> Any:
            return result.window(offset, limit, order)

        pane = self.query_one("#rows-pane", Vertical)
        old = self.grid
        focused = old is not None and old.has_focus
        cursor = old.cursor_coordinate if old is not None and message.order != [] else None
        await pane.remove_children()
        grid = ResultGrid(message.first.rows, message.total, read, message.generation, id="rows")
        await pane.mount(grid)
        if cursor is not None and cursor.column < len(result.columns):
            grid.move_cursor(column=cursor.column, animate=False)
        if focused:
            grid.focus()
        self._render_status()

    def on_result_grid_view_moved(self, message: ResultGrid.ViewMoved) -> None:
        self._render_status()

    def on_view_failed(self, message: ViewFailed) -> None:
        if message.generation != self.view_generation:
            return
        what = "query not run" if message.sql else "rows"
        kept = "the view keeps the last one" if self.shown_generation >= 0 else "nothing shown"
        self.show_error(f"{what} ({kept}): {message.error}")

    def _render_status(self) -> None:
        """The filter line and the status line, drawn from the view's state (never left over
        from another view): what the grid shows is what they name, and what export writes."""
        filter_line = self.query_one("#inspect-filter", Static)
        if self.quarantine_mode:
            page = len(self.quarantine_pages) - 1
            first = page * QUARANTINE_PAGE + 1 if self.quarantine_rows else 0
            last = page * QUARANTINE_PAGE + len(self.quarantine_rows)
            shown = f"{first:,}–{last:,} of {self.quarantine_total:,}"
            filter_line.update(
                Text(
                    "quarantine of every output · R replays after a fix · Esc goes back",
                    style="bold",
                )
            )
            self._status(f"quarantine: rows {shown}")
            return
        if not self.table_name and not self.sql:
            filter_line.update(Text("choose a table", style="dim"))
            self._status("No output tables yet: process some files first." if not self.tables
                         else "")  # fmt: skip
            return
        if self.sql:
            filter_line.update(
                Content.assemble(("SQL ", "bold"), (one_line(self.sql), "bold $accent"),
                                 ("  s edits it · Esc goes back to the table", "dim"))
            )  # fmt: skip
        elif self.predicate:
            filter_line.update(
                Content.assemble(("filter ", "bold"), (self.predicate, "bold $accent"),
                                 ("  f changes it · f then an empty line clears it", "dim"))
            )  # fmt: skip
        else:
            filter_line.update(Text("no filter · f filters the rows · s writes SQL", style="dim"))
        self._status(self.view_text() + (f" · {self.export_note}" if self.export_note else ""))

    def view_text(self) -> str:
        """'lines where amount > 5 sorted by amount ↓: rows 1–12 of 1,141' — the view named."""
        grid = self.grid
        first, last = grid.rows_in_view() if grid is not None else (0, 0)
        name = "query" if self.sql else self.table_name
        where = f" where {self.predicate}" if self.predicate and not self.sql else ""
        text = f"{name}{where}{self.order_text()}: rows {first:,}–{last:,} of {self.row_total:,}"
        notes = [*self.view_notes]
        if grid is not None and grid.windowed.cut_reason:
            notes.append(f"rows cut: {grid.windowed.cut_reason}")
        if self.completion_note:
            notes.append(self.completion_note)
        return " · ".join([text, *notes])

    def order_text(self) -> str:
        grid = self.grid
        if not self.order or grid is None:
            return ""
        names = grid.windowed.columns
        keys = [f"{names[i]} {'↓' if down else '↑'}" for i, down in self.order if i < len(names)]
        return " sorted by " + ", ".join(keys)

    def _status(self, text: str) -> None:
        """The status line, shown literally: it quotes filters and table names."""
        self.query_one("#inspect-status", Static).update(Text(text, end=""))

    def action_page(self, step: int) -> None:
        """] and [: the grid's cursor a screen down or up (quarantine: the next keyset page)."""
        if self.quarantine_mode:
            self.page_quarantine(step)
            return
        grid = self.grid
        if grid is None or not grid.row_count:
            return
        first, last = grid.rows_in_view()
        page = max(last - first + 1, 1)
        row = max(0, min(grid.row_count - 1, grid.cursor_row + step * page))
        grid.move_cursor(row=row, animate=False)
        top = max(0, min(row, grid.row_count - page))
        grid.scroll_to(y=top, animate=False)
        self._render_status()

    # --- the SQL editor ------------------------------------------------------------------------
    def action_edit_sql(self) -> None:
        """s: show the SQL editor (holding the view's query) and type in it."""
        if self.quarantine_mode:
            self.show_error("s writes SQL over the outputs: press Esc to leave quarantine first")
            return
        editor = self.query_one(SqlEditor)
        editor.highlight_sql()
        if not editor.text.strip():
            editor.set_text(self.sql or self.table_sql(self.table_name or "…", ""))
        editor.display = self.editor_shown = True
        editor.focus()
        self.load_query_names()

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-names")
    def load_query_names(self) -> None:
        """The names a query may use, the quarantine's too, for completion (its copy, made now
        unless the quarantine is unchanged since the last one, serves the queries that follow)."""
        catalog = self.service.workspace.outputs.catalog(with_quarantine=True)
        self.post_message(QueryNamesRead(catalog.column_names()))

    def on_query_names_read(self, message: QueryNamesRead) -> None:
        self.query_names = message.names
        editor = self.query_one(SqlEditor)
        editor.names = {**editor.names, **message.names}

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-history")
    def load_history(self) -> None:
        history = self.service.workspace.outputs.query_history()
        self.post_message(HistoryLoaded(history.queries, history.load_error))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self.query_one(SqlEditor).set_history(message.queries)
        if message.error:
            self.show_error(message.error)

    def on_sql_editor_run_requested(self, message: SqlEditor.RunRequested) -> None:
        if not message.sql.strip():
            self.show_error("query not run: the editor is empty (write one SELECT)")
            return
        self.export_note = self.completion_note = ""
        self.open_view(sql=message.sql.strip(), order=[])

    def on_sql_editor_nothing_to_complete(self, message: SqlEditor.NothingToComplete) -> None:
        self.completion_note = "Tab: no table or column fits here"
        self._render_status()

    def on_text_area_changed(self, message: SqlEditor.Changed) -> None:
        if self.completion_note:  # said of the text before this change
            self.completion_note = ""
            self._render_status()

    # --- sort, copy ---------------------------------------------------------------------------
    def action_sort_column(self) -> None:
        """o: sort the view by the grid's cursor column: ascending, descending, then unsorted."""
        grid = self.grid
        if grid is not None and not self.quarantine_mode:
            self.sort_by(grid.cursor_column)

    def on_data_table_header_selected(self, event: Any) -> None:
        if isinstance(event.data_table, ResultGrid):
            event.stop()
            self.sort_by(event.column_index)

    def sort_by(self, column: int) -> None:
        now = dict(self.order)
        if column not in now:
            order = [(column, False)]
        elif not now[column]:
            order = [(column, True)]
        else:
            order = []
        self.export_note = ""
        self.open_view(self.sql, order)

    def action_copy(self, what: str) -> None:
        """c copies the cell under the cursor, C its row (tab-separated), to the clipboard."""
        grid = self.grid
        if grid is None or not grid.row_count or self.quarantine_mode:
            return
        row, column = grid.cursor_coordinate
        text = grid.row_text(row) if what == "row" else grid.cell_text(row, column)
        if text is None:
            self.show_error("copy: that row is still being read; try again when it shows")
            return
        self.app.copy_to_clipboard(text)
        shown = text if len(text) <= 40 else text[:39] + "…"
        self.report_done(f"Copied {'row' if what == 'row' else 'cell'} {row + 1:,}: {shown}")

    # --- filter, export -----------------------------------------------------------------------
    def action_filter_rows(self) -> None:
        if self.quarantine_mode:
            self.show_error("f filters output tables: press Esc to leave quarantine first")
            return
        if self.sql:
            self.show_error("f filters a table: in SQL, write a WHERE (s edits the query)")
            return
        if not self.table_name:
            return

        def chosen(predicate: str | None) -> None:
            if predicate is not None:
                self.check_filter(self.table_name, predicate.strip())

        prompt = PromptDialog("Filter rows (SQL predicate):", "amount > 100", self.predicate)
        self.app.push_screen(prompt, chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-filter")
    def check_filter(self, table: str, predicate: str) -> None:
        """Try the filter on its table before it becomes the view's: a filter the engine
        refuses is reported and the view keeps the filter it had."""
        try:
            if predicate:
                self.inspector.row_count(table, predicate)
        except Exception as exc:  # noqa: BLE001 - the engine's refusal, shown in words
            self.post_message(FilterChecked(table, predicate, str(exc) or type(exc).__name__))
            return
        self.post_message(FilterChecked(table, predicate))

    def on_filter_checked(self, message: FilterChecked) -> None:
        if message.table != self.table_name:
            return  # the user moved to another table meanwhile
        if message.error:
            kept = f"the view keeps {self.predicate!r}" if self.predicate else "no filter applied"
            self.show_error(f"filter not applied ({kept}): {message.error}")
            return
        self.predicate = message.predicate
        self.export_note = ""
        self.show_table_view()  # the histogram's column follows the new stats
        self._render_status()  # the new filter shows at once; its rows follow

    def action_export_view(self) -> None:
        if self.quarantine_mode:
            self.show_error("e exports output tables: press Esc to leave quarantine first")
            return
        if not self.table_name and not self.sql:
            return
        stem = self.table_name if not self.sql else "query"
        default = str(self.exports_dir / f"{stem}.parquet")
        sql, order = self.sql or self.table_sql(self.table_name, self.predicate), list(self.order)
        named = self.view_text().partition(": rows")[0]
        title = f"Export {named} ({counted(self.row_total, 'row')}) to (.parquet or .csv):"

        def chosen(destination: str | None) -> None:
            if destination:  # ExportDialog never returns an empty path; Esc gives None
                self.export_view(sql, bool(self.sql), order, destination)

        self.app.push_screen(ExportDialog(title, "", default), chosen)

    @property
    def exports_dir(self) -> Path:
        """Where exports go unless the user types another folder: <home>/exports."""
        return self.service.workspace.home / "exports"

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-export")
    def export_view(
        self, sql: str, with_quarantine: bool, order: list[tuple[int, bool]], destination: str
    ) -> None:
        from casparian_engine.errors import CasparianError, describe
        from casparian_engine.export_file import check_destination

        target = Path(destination).expanduser()
        if target.parent == self.exports_dir:
            self.exports_dir.mkdir(parents=True, exist_ok=True)  # any other folder must exist
        try:
            check_destination(target)  # a wrong name or folder is said before any query runs
            catalog = self.service.workspace.outputs.catalog(with_quarantine=with_quarantine)
            with catalog:
                written = catalog.open_result(sql).export(target, order)
        except CasparianError as exc:
            self.post_message(ViewExported(destination, 0, describe(exc)))
            return
        self.post_message(ViewExported(destination, written))

    def on_view_exported(self, message: ViewExported) -> None:
        if message.error:
            self.show_error(f"export: {message.error}")
            return
        rows = counted(message.row_count, "row")
        self.report_done(f"Exported {rows} to {message.path}")
        self.export_note = f"exported {rows} to {message.path}"
        self._render_status()

    # --- quarantine: keyset pages of rows, their reasons, and the source line ---------------
    def show_quarantine_rows(self) -> None:
        """Show the quarantined rows (Home's "Needs you" opens Inspect there)."""
        if not self.quarantine_mode:
            self.action_show_quarantine()

    def action_show_quarantine(self) -> None:
        """Toggle between the output tables and the quarantined rows."""
        self.quarantine_mode = not self.quarantine_mode
        self.query_one("#outputs-view").display = not self.quarantine_mode
        self.query_one("#rows-pane").display = not self.quarantine_mode
        self.query_one(SqlEditor).display = self.editor_shown and not self.quarantine_mode
        pane = self.query_one(QuarantinePane)
        pane.display = self.quarantine_mode
        self.clear_error()
        if self.quarantine_mode:
            self.quarantine_pages, self.quarantine_steps_queued = [0], 0
            self.quarantine_shown_after = -1
            self.quarantine_rows, self.quarantine_total = [], 0
            pane.query_one("#quarantine-list", DataTable).focus()
            self.load_quarantine(0)
        else:
            self.query_one("#tables-list", DataTable).focus()
            self.load_tables()
        self._render_status()

    def back_one_level(self) -> bool:
        """Quarantine → the tables; the SQL editor → the rows; a query → the table's rows;
        the rows, stats or histogram → the table list."""
        if self.quarantine_mode:
            self.action_show_quarantine()
            return True
        editor = self.query_one(SqlEditor)
        if editor.has_focus:
            grid = self.grid
            (grid if grid is not None else self.query_one("#tables-list")).focus()
            return True
        if self.sql:
            editor.display = self.editor_shown = False
            self.completion_note = ""
            self.show_table_view()
            return True
        return super().back_one_level()

    def reload_quarantine(self) -> None:
        """Read the quarantine again from its first page (rows left it)."""
        self.quarantine_pages, self.quarantine_steps_queued = [0], 0
        self.quarantine_shown_after = -1
        self.load_quarantine(0)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-quarantine")
    def load_quarantine(self, after_id: int) -> None:
        from casparian_engine.workspace import QuarantineFilter

        workspace = self.service.workspace
        where = QuarantineFilter()
        rows = workspace.quarantine.list(where, after_id=after_id, limit=QUARANTINE_PAGE)
        total = workspace.quarantine.count(where)
        self.post_message(QuarantineListed(rows, total, after_id))

    def on_quarantine_listed(self, message: QuarantineListed) -> None:
        if message.after_id != self.quarantine_pages[-1]:
            return  # an answer for a page no longer wanted
        self.quarantine_rows, self.quarantine_total = message.rows, message.total
        self.quarantine_shown_after = message.after_id
        self.query_one(QuarantinePane).show_rows(message.rows)
        self._render_status()
        if self.quarantine_steps_queued:  # a ] pressed while this page loaded: go on from here
            self.quarantine_steps_queued -= 1
            self.page_quarantine(1)

    def page_quarantine(self, step: int) -> None:
        """Keyset paging: forward from the last id shown, back to the previous page's start.

        A page's start is known only once the page before it arrives, so a ] pressed while a page
        loads is queued and taken when it arrives; a [ first takes back a queued ].
        """
        loading = self.quarantine_shown_after != self.quarantine_pages[-1]
        if step > 0 and loading:
            self.quarantine_steps_queued += 1
            return
        if step < 0 and self.quarantine_steps_queued:
            self.quarantine_steps_queued -= 1
            return
        shown_through = (len(self.quarantine_pages) - 1) * QUARANTINE_PAGE
        more = shown_through + len(self.quarantine_rows) < self.quarantine_total
        if step > 0 and self.quarantine_rows and more:
            self.quarantine_pages.append(self.quarantine_rows[-1].id)
            self.load_quarantine(self.quarantine_pages[-1])
        elif step < 0 and len(self.quarantine_pages) > 1:
            self.quarantine_pages.pop()
            self.load_quarantine(self.quarantine_pages[-1])

    def open_quarantined(self, row: Any) -> None:
        self.set_selection(f"quarantined row {row.id} ({row.rules})")
        self.query_one(QuarantinePane).show_row(row)
        self.read_source_line(row.id, row.source_path, row.source_row)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-source-line")
    def read_source_line(self, quarantine_id: int, path: str | None, line: int | None) -> None:
        from casparian_engine.source_lines import SourceLineError

        if path is None or line is None:
            text = "this row has no source pointer (the parser gave no _cf_row)"
            self.post_message(SourceLineRead(quarantine_id, line or 0, "", text))
            return
        try:
            found = self.service.workspace.files.source_line(path, line)
        except SourceLineError as exc:
            self.post_message(SourceLineRead(quarantine_id, line, "", str(exc)))
            return
        text = found.text + (" …(cut)" if found.truncated else "")
        self.post_message(SourceLineRead(quarantine_id, line, text))

    def on_source_line_read(self, message: SourceLineRead) -> None:
        shown = self.quarantine_rows
        table = self.query_one("#quarantine-list", DataTable)
        if table.cursor_row < len(shown) and shown[table.cursor_row].id == message.quarantine_id:
            pane = self.query_one(QuarantinePane)
            pane.show_source_line(message.line_number, message.text, message.error)
