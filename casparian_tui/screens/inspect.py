"""Inspect: output tables → column stats → a column's histogram and paged rows (Arrow-backed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Static
from textual_fastdatatable import ArrowBackend

from casparian_engine.wording import counted

from ..actions import bindings_for
from ..assistant import InspectAnomalies
from ..messages import (
    ColumnStatsComputed,
    FilterChecked,
    HistogramComputed,
    QuarantineListed,
    RowsPaged,
    SourceLineRead,
    TablesListed,
    ViewExported,
)
from ..widgets.arrow_table import ArrowTable
from ..widgets.quarantine_pane import QuarantinePane
from .base import ModeScreen
from .dialogs import PromptDialog
from .export_dialog import ExportDialog

ROWS_PAGE = 100
QUARANTINE_PAGE = 50
SAMPLE_ABOVE_ROWS = 1_000_000
BAR_WIDTH = 30
MIN_BAR_WIDTH = 10
MAX_LABEL_WIDTH = 40
# "files": the source files a table's rows came from (by lineage), not its Parquet parts.
TABLE_COLUMNS = (("table", 16), ("rows", 10), ("files", 6))
NO_LINEAGE = "–"  # parts written without lineage columns cannot say which files fed them
# SUMMARIZE's approx_unique is a HyperLogLog estimate, so say so (the engine caps it at the
# row count). Long types and values end in '…' here; the histogram header shows them whole.
STAT_COLUMNS = (("column", 14), ("type", 13), ("null %", 6), ("≈ distinct", 10), ("min", 12),
                ("max", 12))  # fmt: skip


def cell(value: object) -> Text:
    """A table cell shown literally (never as markup), ending in '…' when the column is narrower."""
    return Text(str(value), overflow="ellipsis", no_wrap=True, end="")


def source_files(table: Any) -> str:
    """How many source files fed a table, or '–' when its parts carry no lineage."""
    return NO_LINEAGE if table.source_count is None else f"{table.source_count:,}"


def ellipsized(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, its last one '…' when anything was cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def column_detail(stats: dict[str, Any]) -> str:
    """One column's SUMMARIZE figures in full: type, range, distinct estimate and nulls."""
    span = "" if stats["min"] is None else f" · min {stats['min']} · max {stats['max']}"
    return (
        f"{stats['column_type']}{span}"
        f" · ≈ {stats['approx_unique']:,} distinct · {stats['null_percentage']}% null"
    )


def histogram_text(column: str, buckets: Any, detail: str = "", width: int = 0) -> Text:
    """The column's name and full figures, then one bar per bucket, as literal text.

    Labels are data (a text column's values) or bin ranges: they are never read as markup,
    and one longer than the room left for it ends in '…'.
    """
    data = buckets.to_pydict()
    counts = data.get("count", [])
    header = Text(column, style="bold", end="")
    if detail:
        header.append(f"  {detail}", style="dim")
    if not counts:
        return Text.assemble(header, "\nno values")
    labels = [str(label) for label in data["bucket"]]
    count_width = len(f"{max(counts):,}")
    label_width = min(max(len(label) for label in labels), MAX_LABEL_WIDTH)
    bar_width = BAR_WIDTH
    if width:
        label_width = min(label_width, max(width - MIN_BAR_WIDTH - count_width - 2, 8))
        bar_width = max(min(BAR_WIDTH, width - label_width - count_width - 2), 1)
    peak = max(counts)
    lines = [header]
    for label, count in zip(labels, counts, strict=True):
        bar = "█" * (round(bar_width * count / peak) if count else 0)
        if count and not bar:
            bar = "▏"  # a few values beside a tall peak still show
        lines.append(Text(f"{ellipsized(label, label_width):>{label_width}} {bar} {count:,}"))
    return Text("\n").join(lines)


class InspectScreen(InspectAnomalies, ModeScreen):
    """Browse the outputs without loading them: stats from SUMMARIZE, rows in LIMIT windows."""

    MODE = "inspect"
    HEADING = "Inspect"
    BINDINGS = bindings_for("inspect")
    MAIN_WIDGET = "#tables-list"

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Any] = []
        self.table_name = ""  # the table the user chose: state, never re-read from a cursor
        self.stats_table = ""  # the table whose columns ``stat_columns`` lists
        self.predicate = ""
        self.row_offset = 0  # the first row of the page shown
        self.wanted_offset = 0  # the first row of the page asked for last (maybe not shown yet)
        self.row_total = 0
        self.rows_shown = 0  # how many rows the page on screen holds
        self.export_note = ""  # the last export, said after the rows it wrote
        self.column_figures: dict[str, dict[str, Any]] = {}  # SUMMARIZE's row per column
        self.stat_columns: list[str] = []
        self.quarantine_mode = False
        self.quarantine_rows: list[Any] = []
        self.quarantine_total = 0
        self.quarantine_pages: list[int] = [0]  # after_id of each page shown so far
        self.quarantine_steps_queued = 0  # ] presses made while the next page was loading
        self.quarantine_shown_after = -1  # after_id of the page on screen (-1: none yet)

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="split", id="outputs-view"):
            tables: DataTable[str] = DataTable(id="tables-list", cursor_type="row")
            yield tables
            with Vertical(id="inspect-detail"):
                stats: DataTable[str] = DataTable(id="stats", cursor_type="row")
                yield stats
                yield Static("Select a column for its histogram.", id="histogram")
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

    def on_screen_resume(self) -> None:
        self.load_tables()

    @property
    def inspector(self) -> Any:
        return self.service.workspace.output_inspector()

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-tables")
    def load_tables(self) -> None:
        self.post_message(TablesListed(self.service.workspace.output_tables()))

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
        elif event.data_table.id == "stats" and event.cursor_row < len(self.stat_columns):
            if self.stats_table != self.table_name:
                return  # these are the previous table's columns; the new stats are coming
            column = self.stat_columns[event.cursor_row]
            self.set_selection(f"{self.table_name}.{column}")
            self.load_histogram(self.table_name, column, self.predicate)

    def open_table(self, name: str) -> None:
        if name == self.table_name:
            return
        self.table_name, self.predicate = name, ""
        self.row_offset = self.wanted_offset = 0
        self.row_total = self.rows_shown = 0
        self.export_note = ""
        self.set_selection(name)
        self.query_one("#histogram", Static).update("Select a column for its histogram.")
        self.refresh_view()

    def refresh_view(self) -> None:
        self.clear_error()
        row_count = next((t.row_count for t in self.tables if t.name == self.table_name), 0)
        self.load_stats(self.table_name, self.predicate, row_count > SAMPLE_ABOVE_ROWS)
        self.wanted_offset = self.row_offset
        self.load_rows(self.table_name, self.predicate, self.row_offset)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-stats")
    def load_stats(self, table: str, predicate: str, sample_first: bool) -> None:
        inspector = self.inspector
        if sample_first:
            sampled = inspector.column_stats(table, predicate, sample_percent=1.0)
            self.post_message(ColumnStatsComputed(table, sampled, exact=False))
        self.post_message(
            ColumnStatsComputed(table, inspector.column_stats(table, predicate), True)
        )

    def on_column_stats_computed(self, message: ColumnStatsComputed) -> None:
        if message.table != self.table_name:
            return  # an answer for a table no longer shown
        stats = message.stats.to_pylist()  # one row per column: a table's width, not its rows
        self.stat_columns = [row["column_name"] for row in stats]
        self.stats_table = message.table
        self.column_figures = {row["column_name"]: row for row in stats}
        grid = self.query_one("#stats", DataTable)
        grid.clear()
        for row in stats:
            grid.add_row(
                cell(row["column_name"]),
                cell(row["column_type"]),
                cell(row["null_percentage"]),
                cell(f"{row['approx_unique']:,}"),
                cell("" if row["min"] is None else row["min"]),
                cell("" if row["max"] is None else row["max"]),
            )
        grid.border_title = "column stats" + ("" if message.exact else " (1% sample)")

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-histogram")
    def load_histogram(self, table: str, column: str, predicate: str) -> None:
        buckets = self.inspector.histogram(table, column, predicate)
        self.post_message(HistogramComputed(table, column, buckets))

    def on_histogram_computed(self, message: HistogramComputed) -> None:
        if message.table != self.table_name:
            return
        figures = self.column_figures.get(message.column)
        detail = column_detail(figures) if figures is not None else ""
        histogram = self.query_one("#histogram", Static)
        text = histogram_text(message.column, message.buckets, detail, histogram.content_size.width)
        histogram.update(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-rows")
    def load_rows(self, table: str, predicate: str, offset: int) -> None:
        inspector = self.inspector
        rows = inspector.rows(table, offset, ROWS_PAGE, predicate)
        total = inspector.row_count(table, predicate)
        self.post_message(RowsPaged(table, rows, offset, total, predicate))

    async def on_rows_paged(self, message: RowsPaged) -> None:
        wanted = (self.table_name, self.wanted_offset, self.predicate)
        if (message.table, message.offset, message.predicate) != wanted:
            return  # another table's or filter's page, or one the user has already paged past
        self.row_offset, self.row_total = message.offset, message.total
        self.rows_shown = message.rows.num_rows
        pane = self.query_one("#rows-pane", Vertical)
        await pane.remove_children()
        await pane.mount(ArrowTable(backend=ArrowBackend(message.rows), id="rows"))
        self._render_status()

    def _render_status(self) -> None:
        """The filter line and the status line, drawn from the view's state (never left over
        from another view): what the grid shows is what they name, and what export writes."""
        filter_line = self.query_one("#inspect-filter", Static)
        if self.quarantine_mode:
            page = len(self.quarantine_pages) - 1
            first = page * QUARANTINE_PAGE + 1 if self.quarantine_rows else 0
            last = page * QUARANTINE_PAGE + len(self.quarantine_rows)
            shown = f"{first:,}–{last:,} of {self.quarantine_total:,}"
            filter_line.update(Text("quarantine of every output · Esc goes back", style="bold"))
            self._status(f"quarantine: rows {shown}")
            return
        if not self.table_name:
            filter_line.update(Text("choose a table", style="dim"))
            self._status("No output tables yet: process some files first." if not self.tables
                         else "")  # fmt: skip
            return
        if self.predicate:
            filter_line.update(
                Content.assemble(("filter ", "bold"), (self.predicate, "bold $accent"),
                                 ("  f changes it · f then an empty line clears it", "dim"))
            )  # fmt: skip
        else:
            filter_line.update(Text("no filter · f filters the rows", style="dim"))
        first = self.row_offset + 1 if self.row_total and self.rows_shown else 0
        last = self.row_offset + self.rows_shown
        where = f" where {self.predicate}" if self.predicate else ""
        status = f"{self.table_name}{where}: rows {first:,}–{last:,} of {self.row_total:,}"
        self._status(status + (f" · {self.export_note}" if self.export_note else ""))

    def _status(self, text: str) -> None:
        """The status line, shown literally: it quotes filters and table names."""
        self.query_one("#inspect-status", Static).update(Text(text, end=""))

    def action_page(self, step: int) -> None:
        """Each press moves one page from the last page asked for, shown yet or not."""
        if self.quarantine_mode:
            self.page_quarantine(step)
            return
        offset = self.wanted_offset + step * ROWS_PAGE
        if self.table_name and 0 <= offset < max(self.row_total, 1):
            self.wanted_offset = offset
            self.load_rows(self.table_name, self.predicate, offset)

    def action_filter_rows(self) -> None:
        if self.quarantine_mode:
            self.show_error("f filters output tables: press Esc to leave quarantine first")
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
        self.predicate, self.row_offset = message.predicate, 0
        self.export_note = ""
        self.refresh_view()
        self._render_status()  # the new filter shows at once; its rows follow

    def action_export_view(self) -> None:
        if self.quarantine_mode:
            self.show_error("e exports output tables: press Esc to leave quarantine first")
            return
        if not self.table_name:
            return
        default = str(self.exports_dir / f"{self.table_name}.parquet")
        table, predicate = self.table_name, self.predicate
        where = f" where {predicate}" if predicate else ""
        title = f"Export {table}{where} ({counted(self.row_total, 'row')}) to (.parquet or .csv):"

        def chosen(destination: str | None) -> None:
            if destination:  # ExportDialog never returns an empty path; Esc gives None
                self.export_view(table, predicate, destination)

        self.app.push_screen(ExportDialog(title, "", default), chosen)

    @property
    def exports_dir(self) -> Path:
        """Where exports go unless the user types another folder: <home>/exports."""
        return self.service.workspace.home / "exports"

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-export")
    def export_view(self, table: str, predicate: str, destination: str) -> None:
        target = Path(destination).expanduser()
        if target.parent == self.exports_dir:
            self.exports_dir.mkdir(parents=True, exist_ok=True)  # any other folder must exist
        written = self.inspector.export(table, target, predicate)
        self.post_message(ViewExported(destination, written))

    def on_view_exported(self, message: ViewExported) -> None:
        rows = counted(message.row_count, "row")
        self.report_done(f"Exported {rows} to {message.path}")
        self.export_note = f"exported {rows} to {message.path}"
        self._render_status()

    # --- quarantine: keyset pages of rows, their reasons, and the source line ---------------
    def action_show_quarantine(self) -> None:
        """Toggle between the output tables and the quarantined rows."""
        self.quarantine_mode = not self.quarantine_mode
        self.query_one("#outputs-view").display = not self.quarantine_mode
        self.query_one("#rows-pane").display = not self.quarantine_mode
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
        """Quarantine → the tables; the rows, stats or histogram → the table list."""
        if self.quarantine_mode:
            self.action_show_quarantine()
            return True
        return super().back_one_level()

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-quarantine")
    def load_quarantine(self, after_id: int) -> None:
        from casparian_engine.workspace import QuarantineFilter

        workspace = self.service.workspace
        where = QuarantineFilter()
        rows = workspace.list_quarantine(where, after_id=after_id, limit=QUARANTINE_PAGE)
        total = workspace.count_quarantine(where)
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
            found = self.service.workspace.source_line(path, line)
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
