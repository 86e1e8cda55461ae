"""The Arrow-backed rows table (textual-fastdatatable), styled by this app alone.

textual-fastdatatable names its widget ``DataTable`` and ships default CSS for that type name,
so its rules also matched every Textual ``DataTable``: whichever table happened to be styled
after the first rows page loaded (or after a theme change) lost its surface background and took
another header colour. Not inheriting that CSS keeps each table's look to its own rules; the
rows table's look is in styles/modes.tcss.

Values and column names are data: they are shown literally, never parsed as console markup
(a value '[b]bold.csv' or '[/]' is text, not a tag).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual_fastdatatable import ArrowBackend, DataTable


class ArrowTable(DataTable, inherit_css=False):
    """A page of output rows straight from an Arrow table, never copied into Python rows."""

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES  # not inherited along with the CSS

    def __init__(self, *, backend: ArrowBackend, **options: Any) -> None:
        labels: list[str | Text] = [Text(name) for name in backend.columns]
        super().__init__(backend=backend, column_labels=labels, render_markup=False, **options)
