"""Inspect: output tables → column stats → a column's histogram and paged rows (Arrow-backed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static
from textual_fastdatatable import ArrowBackend
from textual_fastdatatable import DataTable as ArrowTable

from ..actions import bindings_for
from ..messages import (
    ColumnStatsComputed,
    HistogramComputed,
    RowsPaged,
    TablesListed,
    ViewExported,
)
from .base import ModeScreen
from .dialogs import PromptDialog

ROWS_PAGE = 100
SAMPLE_ABOVE_ROWS = 1_000_000
BAR_WIDTH = 30


def histogram_text(column: str, buckets: Any) -> str:
    """Horizontal bars, one line per bucket."""
    data = buckets.to_pydict()
    counts = data.get("count", [])
    if not counts:
        return f"{column}: no values"
    peak = max(counts)
    lines = [f"[b]{column}[/b]"]
    for label, count in zip(data["bucket"], counts, strict=True):
        bar = "█" * max(1, round(BAR_WIDTH * count / peak))
        lines.append(f"{str(label)[:22]:>22} {bar} {count:,}")
    return "\n".join(lines)


class InspectScreen(ModeScreen):
    """Browse the outputs without loading them: stats from SUMMARIZE, rows in LIMIT windows."""

    MODE = "inspect"
    HEADING = "Inspect"
    BINDINGS = bindings_for("inspect")

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Any] = []
        self.table_name = ""
        self.predicate = ""
        self.row_offset = 0
        self.row_total = 0
        self.stat_columns: list[str] = []

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="split"):
            tables: DataTable[str] = DataTable(id="tables-list", cursor_type="row")
            yield tables
            with Vertical(id="inspect-detail"):
                stats: DataTable[str] = DataTable(id="stats", cursor_type="row")
                yield stats
                yield Static("Select a column for its histogram.", id="histogram")
        yield Vertical(id="rows-pane")
        yield Static("", id="inspect-status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#tables-list", DataTable).add_columns("table", "rows", "files")
        self.query_one("#stats", DataTable).add_columns(
            "column", "type", "null %", "distinct", "min", "max"
        )
        self.query_one("#tables-list", DataTable).focus()
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
        self.tables = message.tables
        listing = self.query_one("#tables-list", DataTable)
        listing.clear()
        for table in message.tables:
            listing.add_row(table.name, f"{table.row_count:,}", str(table.file_count))
        if not message.tables:
            self._status("No output tables yet: process some files first.")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "tables-list" and event.cursor_row < len(self.tables):
            self.open_table(self.tables[event.cursor_row].name)
        elif event.data_table.id == "stats" and event.cursor_row < len(self.stat_columns):
            column = self.stat_columns[event.cursor_row]
            self.set_selection(f"{self.table_name}.{column}")
            self.load_histogram(self.table_name, column, self.predicate)

    def open_table(self, name: str) -> None:
        if name == self.table_name:
            return
        self.table_name, self.predicate, self.row_offset = name, "", 0
        self.set_selection(name)
        self.refresh_view()

    def refresh_view(self) -> None:
        self.clear_error()
        row_count = next((t.row_count for t in self.tables if t.name == self.table_name), 0)
        self.load_stats(self.table_name, self.predicate, row_count > SAMPLE_ABOVE_ROWS)
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
        stats = message.stats.to_pydict()
        self.stat_columns = stats["column_name"]
        grid = self.query_one("#stats", DataTable)
        grid.clear()
        for index, column in enumerate(stats["column_name"]):
            grid.add_row(
                column,
                stats["column_type"][index],
                str(stats["null_percentage"][index]),
                str(stats["approx_unique"][index]),
                str(stats["min"][index])[:20],
                str(stats["max"][index])[:20],
            )
        grid.border_title = "column stats" + ("" if message.exact else " (1% sample)")

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-histogram")
    def load_histogram(self, table: str, column: str, predicate: str) -> None:
        buckets = self.inspector.histogram(table, column, predicate)
        self.post_message(HistogramComputed(table, column, buckets))

    def on_histogram_computed(self, message: HistogramComputed) -> None:
        self.query_one("#histogram", Static).update(histogram_text(message.column, message.buckets))

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-rows")
    def load_rows(self, table: str, predicate: str, offset: int) -> None:
        inspector = self.inspector
        rows = inspector.rows(table, offset, ROWS_PAGE, predicate)
        total = inspector.row_count(table, predicate)
        self.post_message(RowsPaged(table, rows, offset, total))

    async def on_rows_paged(self, message: RowsPaged) -> None:
        self.row_offset, self.row_total = message.offset, message.total
        pane = self.query_one("#rows-pane", Vertical)
        await pane.remove_children()
        await pane.mount(ArrowTable(backend=ArrowBackend(message.rows), id="rows"))
        last = message.offset + message.rows.num_rows
        shown = f"{message.offset + 1 if message.total else 0:,}–{last:,} of {message.total:,}"
        where = f" where {self.predicate}" if self.predicate else ""
        self._status(f"{message.table}{where}: rows {shown}")

    def _status(self, text: str) -> None:
        self.query_one("#inspect-status", Static).update(text)

    def action_page(self, step: int) -> None:
        offset = self.row_offset + step * ROWS_PAGE
        if self.table_name and 0 <= offset < max(self.row_total, 1):
            self.load_rows(self.table_name, self.predicate, offset)

    def action_filter_rows(self) -> None:
        if not self.table_name:
            return

        def chosen(predicate: str | None) -> None:
            if predicate is not None:
                self.predicate, self.row_offset = predicate, 0
                self.refresh_view()

        prompt = PromptDialog("Filter rows (SQL predicate):", "amount > 100", self.predicate)
        self.app.push_screen(prompt, chosen)

    def action_export_view(self) -> None:
        if not self.table_name:
            return
        default = str(Path.cwd() / f"{self.table_name}.parquet")

        def chosen(destination: str | None) -> None:
            if destination:
                self.export_view(self.table_name, self.predicate, destination)

        self.app.push_screen(
            PromptDialog("Export view to (.parquet or .csv):", "", default), chosen
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-export")
    def export_view(self, table: str, predicate: str, destination: str) -> None:
        written = self.inspector.export(table, Path(destination).expanduser(), predicate)
        self.post_message(ViewExported(destination, written))

    def on_view_exported(self, message: ViewExported) -> None:
        self.notify(f"Exported {message.row_count:,} rows to {message.path}")
        self._status(f"exported {message.row_count:,} rows to {message.path}")

    def action_show_quarantine(self) -> None:
        self.show_error("quarantine browsing needs the engine's quarantine repository (not yet)")
