"""Discover's preview: what the file is (format, dialect, notes) over its first rows as a table.

Delimited text shows in columns under the detected dialect, each cell whole; other text shows
its lines whole. The table scrolls sideways, so a 300-character fixed-width line is read, not
cut. Everything is data and shown literally (never read as markup)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ..screens.file_facts import human_size

MAX_CELL_CHARS = 4_096
"""The longest cell shown (a bound on what one line of a file can put on screen)."""


def dialect_line(dialect: dict[str, Any]) -> str:
    """'delimiter ',' · quote '"' · header · 2 preamble lines · utf-8' from a preview's dialect."""
    parts = []
    if "delimiter" in dialect:
        parts.append(f"delimiter {dialect['delimiter']!r}")
    if dialect.get("quotechar"):
        parts.append(f"quote {dialect['quotechar']!r}")
    if "header" in dialect:
        parts.append("header" if dialect["header"] else "no header")
    if dialect.get("preamble_lines"):
        count = int(dialect["preamble_lines"])
        parts.append(f"{count} preamble line{'s' if count != 1 else ''}")
    if dialect.get("encoding"):
        parts.append(str(dialect["encoding"]))
    if "rows" in dialect:
        parts.append(f"{int(dialect['rows']):,} rows")
    return " · ".join(parts)


def header_text(path: str, preview: Any) -> Text:
    """The path, then 'format · size', the dialect and any notes, one per line."""
    lines = [Text(path, style="bold"), Text(f"{preview.format} · {human_size(preview.size_bytes)}")]
    if dialect := dialect_line(preview.dialect):
        lines.append(Text(dialect))
    notes = [*preview.notes, *([preview.error] if preview.error else [])]
    own = f"{path}: "  # the path is on the first line: a note need not repeat it
    lines += [Text(f"note: {note.removeprefix(own)}", style="dim") for note in notes]
    if preview.format.startswith("empty"):
        lines.append(Text("empty: nothing to show", style="bold"))
    return Text("\n").join(lines)


def shown(value: object) -> Text:
    text = "" if value is None else str(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return Text(text, no_wrap=True, end="")


class FilePreview(Vertical):
    """Renders a ``FilePreview`` the Discover screen's worker read; it reads nothing itself."""

    def compose(self) -> ComposeResult:
        yield Static("Highlight a file to preview it.", id="preview")
        table: DataTable[Text] = DataTable(
            id="preview-table", cursor_type="none", zebra_stripes=True
        )
        table.display = False
        yield table

    def show_message(self, text: str) -> None:
        """A line instead of a preview (no file, or the file could not be read)."""
        self.query_one("#preview", Static).update(Text(text))
        self.query_one("#preview-table", DataTable).display = False

    def show_preview(self, path: str, preview: Any) -> None:
        self.query_one("#preview", Static).update(header_text(path, preview))
        table = self.query_one("#preview-table", DataTable)
        table.clear(columns=True)
        if preview.hex_lines:
            table.add_column("hex", key="hex")
            for line in preview.hex_lines:
                table.add_row(shown(line))
        elif preview.schema:
            for index, (name, kind) in enumerate(preview.schema):
                table.add_column(Text(f"{name} {kind}", no_wrap=True), key=str(index))
            width = len(preview.schema)
            for row in preview.rows:
                cells = [shown(value) for value in row[:width]]
                table.add_row(*cells, *[Text("")] * (width - len(cells)))
        table.display = table.row_count > 0 or bool(preview.schema)
        table.scroll_home(animate=False)

    @property
    def header(self) -> str:
        return str(self.query_one("#preview", Static).render())

    def rows(self) -> list[list[str]]:
        """The table's cells as text (what a person reads), for tests and the AI context."""
        table = self.query_one("#preview-table", DataTable)
        return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]

    def columns(self) -> list[str]:
        table = self.query_one("#preview-table", DataTable)
        return [str(column.label) for column in table.ordered_columns]
