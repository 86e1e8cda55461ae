"""Inspect's column stats and histogram: of the table view (the table and its filter) or of the
query view's result, whichever the grid shows.

The stats describe a *subject*: ``(table, "")`` for a table view, ``("", sql)`` for a query. The
subject wanted changes when a view is asked for (a table's stats are read beside its rows) or
when a query's result opens (its stats are DuckDB's, on the result, sampled first when it is
big); an answer for another subject is dropped, so what the stats box shows is always what the
grid, the status line and export name. A click on a histogram bar filters by that bin: the
table's filter, or the query wrapped in a ``WHERE`` on its result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.widgets import DataTable

from ..messages import ColumnStatsComputed, HistogramComputed, StatsFailed
from ..widgets.histogram import Histogram
from ..widgets.sql_editor import SqlEditor

if TYPE_CHECKING:
    import pyarrow as pa

    from casparian_engine.workspace.results import ResultSet

SAMPLE_ABOVE_ROWS = 1_000_000
SAMPLE_PERCENT = 1.0
BAR_WIDTH = 30
MIN_BAR_WIDTH = 10
MAX_LABEL_WIDTH = 40
NO_HISTOGRAM = "Select a column for its histogram."
# SUMMARIZE's approx_unique is a HyperLogLog estimate, so say so (the engine caps it at the
# row count). Long types and values end in '…' here; the histogram header shows them whole.
STAT_COLUMNS = (("column", 14), ("type", 13), ("null %", 6), ("≈ distinct", 10), ("min", 12),
                ("max", 12))  # fmt: skip

Subject = tuple[str, str]
"""What stats describe: (table, "") for a table view, ("", sql) for a query's result."""


def cell(value: object) -> Text:
    """A table cell shown literally (never as markup), ending in '…' when the column is narrower."""
    return Text(str(value), overflow="ellipsis", no_wrap=True, end="")


def ellipsized(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, its last one '…' when anything was cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def column_detail(stats: dict[str, Any]) -> str:
    """One column's figures in full: type, range, distinct estimate and nulls."""
    span = "" if stats["min"] is None else f" · min {stats['min']} · max {stats['max']}"
    return (
        f"{stats['column_type']}{span}"
        f" · ≈ {stats['approx_unique']:,} distinct · {stats['null_percentage']}% null"
    )


def histogram_text(column: str, buckets: pa.Table, detail: str = "", width: int = 0) -> Text:
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


def bin_filtered_query(sql: str, condition: str) -> str:
    """A query's rows that fall in a histogram bin: the query wrapped, filtered on its result's
    columns (the names the grid shows)."""
    return f"SELECT * FROM ({sql}) AS cf_result WHERE {condition}"


class InspectStats:
    """Mixed into Inspect: the stats box and the histogram, of the view the grid shows."""

    table_name: str
    predicate: str
    sql: str
    quarantine_mode: bool

    def init_stats(self) -> None:
        self.stats_wanted: Subject = ("", "")  # the subject whose stats are asked for
        self.stats_shown: Subject = ("", "")  # the subject whose stats the box lists
        self.column_figures: dict[str, dict[str, Any]] = {}  # the stats' row per column
        self.stat_columns: list[str] = []
        self.bucket_filters: list[str] = []  # the histogram's bars, as filters, top to bottom
        self.histogram_column = ""  # the column whose histogram is shown or coming
        self.view_result: ResultSet | None = (
            None  # the query view's result (its stats and histograms)
        )
        self.bin_filter: tuple[str, str] | None = None  # (query, condition) a bar click wrapped

    def want_stats(self, subject: Subject) -> None:
        """The stats box is about ``subject`` from now on: emptied until its stats come."""
        screen: Any = self
        if subject == self.stats_wanted:
            return
        self.stats_wanted = subject
        grid = screen.query_one("#stats", DataTable)
        grid.clear()
        grid.border_title = f"{self.stats_title(subject)} (reading…)"
        self.stat_columns, self.column_figures = [], {}
        self.bucket_filters = []
        screen.query_one(Histogram).update(NO_HISTOGRAM)

    @staticmethod
    def stats_title(subject: Subject) -> str:
        return "column stats of the query" if subject[1] else "column stats"

    def table_stats(self, row_count: int) -> None:
        """Read the stats of the table and its filter (sampled first past 1M rows)."""
        self.want_stats((self.table_name, ""))
        self.load_stats(self.table_name, self.predicate, row_count > SAMPLE_ABOVE_ROWS)

    def result_stats(self, sql: str, result: ResultSet, row_count: int) -> None:
        """Read the stats of a query's result, unless they are those shown or coming (a new
        sort of the same query has the same stats)."""
        self.view_result = result
        if self.stats_wanted == ("", sql):
            return
        self.want_stats(("", sql))
        self.load_result_stats(sql, result, row_count > SAMPLE_ABOVE_ROWS)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-stats")
    def load_stats(self, table: str, predicate: str, sample_first: bool) -> None:
        screen: Any = self
        inspector = screen.inspector
        if sample_first:
            sampled = inspector.column_stats(table, predicate, sample_percent=SAMPLE_PERCENT)
            screen.post_message(ColumnStatsComputed(table, sampled, exact=False))
        screen.post_message(
            ColumnStatsComputed(table, inspector.column_stats(table, predicate), True)
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-stats")
    def load_result_stats(self, sql: str, result: ResultSet, sample_first: bool) -> None:
        """DuckDB's figures on the query's result: a sample first when it is big, then exact
        (not read when another view was asked for meanwhile)."""
        from textual.worker import get_current_worker

        from casparian_engine.errors import CasparianError, describe

        screen: Any = self
        try:
            if sample_first:
                sampled = result.column_stats(sample_percent=SAMPLE_PERCENT)
                screen.post_message(ColumnStatsComputed("", sampled, exact=False, query=sql))
            if not get_current_worker().is_cancelled:
                exact = result.column_stats()
                screen.post_message(ColumnStatsComputed("", exact, True, query=sql))
        except CasparianError as exc:  # e.g. a row past the grid's first windows fails
            screen.post_message(StatsFailed(sql, "", describe(exc)))

    def on_column_stats_computed(self, message: ColumnStatsComputed) -> None:
        screen: Any = self
        subject = (message.table, message.query)
        if subject != self.stats_wanted:
            return  # the stats of a view no longer shown
        stats = message.stats.to_pylist()  # one row per column: a table's width, not its rows
        self.stat_columns = [row["column_name"] for row in stats]
        self.stats_shown = subject
        self.column_figures = {row["column_name"]: row for row in stats}
        grid = screen.query_one("#stats", DataTable)
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
        sample = "" if message.exact else f" ({SAMPLE_PERCENT:g}% sample)"
        grid.border_title = self.stats_title(subject) + sample
        if self.histogram_column in self.stat_columns:  # its histogram follows the new stats
            grid.move_cursor(row=self.stat_columns.index(self.histogram_column))

    def show_histogram_of(self, row: int) -> None:
        """The stats box's cursor is on ``row``: that column's histogram, of the same subject."""
        screen: Any = self
        if self.stats_shown != self.stats_wanted or row >= len(self.stat_columns):
            return  # these are the previous view's columns; the new stats are coming
        column = self.stat_columns[row]
        self.load_histogram_of(column)
        screen.set_selection(f"{'query' if self.stats_shown[1] else self.table_name}.{column}")

    def load_histogram_of(self, column: str) -> None:
        self.histogram_column = column
        table, sql = self.stats_wanted
        if sql:
            self.load_result_histogram(sql, self.view_result, column)
        else:
            self.load_histogram(table, column, self.predicate)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-histogram")
    def load_histogram(self, table: str, column: str, predicate: str) -> None:
        screen: Any = self
        buckets = screen.inspector.histogram(table, column, predicate)
        screen.post_message(HistogramComputed(table, column, buckets))

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-histogram")
    def load_result_histogram(self, sql: str, result: ResultSet, column: str) -> None:
        from casparian_engine.errors import CasparianError, describe

        screen: Any = self
        try:
            buckets = result.histogram(column)
        except CasparianError as exc:
            screen.post_message(StatsFailed(sql, column, describe(exc)))
            return
        screen.post_message(HistogramComputed("", column, buckets, query=sql))

    def on_stats_failed(self, message: StatsFailed) -> None:
        """The query's rows show, but its stats (or a histogram) could not be read: the box
        says so and the error line says why; the view stays."""
        screen: Any = self
        if ("", message.query) != self.stats_wanted:
            return
        if message.column:
            if message.column == self.histogram_column:
                screen.query_one(Histogram).update(Text(f"{message.column}: not read", end=""))
                screen.show_error(f"histogram of {message.column} not read: {message.error}")
            return
        grid = screen.query_one("#stats", DataTable)
        grid.border_title = f"{self.stats_title(self.stats_wanted)}: not read"
        screen.show_error(f"column stats of the query not read: {message.error}")

    def on_histogram_computed(self, message: HistogramComputed) -> None:
        screen: Any = self
        if (message.table, message.query, message.column) != (
            *self.stats_wanted,
            self.histogram_column,
        ):
            return  # another view's, or another column's (the cursor moved on)
        figures = self.column_figures.get(message.column)
        detail = column_detail(figures) if figures is not None else ""
        histogram = screen.query_one(Histogram)
        text = histogram_text(message.column, message.buckets, detail, histogram.content_size.width)
        self.bucket_filters = message.buckets.column("filter").to_pylist()
        histogram.update(text)

    def on_histogram_bar_clicked(self, message: Histogram.BarClicked) -> None:
        """A click on a bar filters by that bar's bin, within the filter there is: the table's
        filter, or the query's rows (the query wrapped, and shown in the editor)."""
        screen: Any = self
        if not 0 <= message.index < len(self.bucket_filters) or self.quarantine_mode:
            return
        chosen = self.bucket_filters[message.index]
        if not self.sql:
            predicate = f"({self.predicate}) AND {chosen}" if self.predicate else chosen
            screen.check_filter(self.table_name, predicate)
            return
        query, condition = self.sql, chosen
        if self.bin_filter is not None and self.sql == bin_filtered_query(*self.bin_filter):
            query, earlier = self.bin_filter  # a bin within a bin: one WHERE, not two wraps
            condition = f"({earlier}) AND {chosen}"
        self.bin_filter = (query, condition)
        wrapped = bin_filtered_query(query, condition)
        editor = screen.query_one(SqlEditor)
        if editor.text.strip() in ("", self.sql):  # the editor holds the query shown
            editor.set_text(wrapped)
        screen.export_note = ""
        screen.open_view(sql=wrapped, order=screen.order)
