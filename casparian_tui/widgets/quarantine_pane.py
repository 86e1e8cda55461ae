"""Quarantined rows (left) beside the highlighted row's reasons, values and source line (right)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from casparian_engine.source_lines import POINTER_LINE, source_pointer

COLUMN_WIDTHS = (("id", 6), ("parser", 10), ("output", 10), ("rules", 14), ("source", 20))


def row_pointer(row: Any) -> str:
    """'inv0.csv line 3' (the parser's line number) or 'inv0.csv row 3' (the row's position)."""
    name = (row.source_path or "?").rpartition("/")[2]
    return f"{name} {source_pointer(row.source_row, row.source_row_unit)}"


def line_caveat(row: Any) -> str:
    """Why the line shown beside a row pointer may not be the row (empty for a line pointer)."""
    if row.source_row_unit == POINTER_LINE or row.source_row is None:
        return ""
    return (
        f"row {row.source_row} is the parser's row count, not a line number: "
        "a header or a row spanning lines puts the row further down"
    )


def reasons_text(row: Any) -> str:
    """One line per violated rule: 'amount: cast — not a valid float64'."""
    lines = []
    for violation in row.violations:
        column = violation.get("column") or "(row)"
        lines.append(f"  {column}: {violation.get('rule', '?')} — {violation.get('reason', '')}")
    return "\n".join(lines) or f"  {row.rules}"


def cell(value: object) -> Text:
    """A list cell shown literally (file names and rules are data), '…' where it is cut."""
    return Text(str(value), overflow="ellipsis", no_wrap=True, end="")


def row_detail(row: Any) -> Text:
    """Everything about one quarantined row except its source line, as literal text."""
    values = "\n".join(f"  {name} = {value!r}" for name, value in row.row_values.items())
    bold = "bold"
    return Text("\n", end="").join(
        [
            Text.assemble(
                (f"quarantined row {row.id}", bold),
                f" · {row.parser_name} {row.parser_version} → {row.output_name} · job {row.job_id}",
            ),
            Text(
                f"source  {source_pointer(row.source_row, row.source_row_unit)} of "
                f"{row.source_path or 'unknown'}"
            ),
            Text("reasons", bold),
            Text(reasons_text(row)),
            Text("values", bold),
            Text(values or "  (none kept)"),
        ]
    )


class QuarantinePane(Horizontal):
    """Renders what the Inspect screen's workers read; it runs no engine calls itself."""

    shown: Any = None  # the row whose detail is shown, for its source line's caveat

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="quarantine-list", cursor_type="row")
        yield table
        with VerticalScroll(id="quarantine-detail-pane"):
            yield Static("Highlight a row for its reasons and source line.", id="quarantine-detail")
            yield Static("", id="source-line")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in COLUMN_WIDTHS:  # fixed: widths never depend on which rows came first
            table.add_column(label, width=width)

    def show_rows(self, rows: list[Any]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(
                cell(row.id),
                cell(row.parser_name),
                cell(row.output_name),
                cell(row.rules),
                cell(row_pointer(row)),
                key=str(row.id),
            )
        if not rows:
            self.query_one("#quarantine-detail", Static).update("No quarantined rows.")
            self.query_one("#source-line", Static).update("")

    def show_row(self, row: Any) -> None:
        self.shown = row
        self.query_one("#quarantine-detail", Static).update(row_detail(row))
        reading = Text("reading the source line…", style="dim")
        self.query_one("#source-line", Static).update(reading)

    def show_source_line(self, line_number: int, text: str, error: str) -> None:
        """The source line (or why it cannot be read) as literal text: it is the file's data."""
        body = Text.assemble((f"source line {line_number}", "bold"), "\n", end="")
        if error:
            body.append(error, style="red")
        else:
            body.append(f"  {text}")
        caveat = line_caveat(self.shown) if self.shown is not None and not error else ""
        if caveat:
            body.append(f"\n{caveat}", style="dim")
        self.query_one("#source-line", Static).update(body)
