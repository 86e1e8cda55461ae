"""The ``stdout`` sink: nothing is stored; each output's first rows are printed at commit."""

from __future__ import annotations

import pyarrow as pa
from rich.console import Console
from rich.table import Table

from . import check_same_schema

PREVIEW_ROWS = 20


class StdoutSink:
    """Keeps the first rows of each output and prints them as tables when the run commits."""

    uri = "stdout"

    def __init__(self, console: Console | None = None, preview_rows: int = PREVIEW_ROWS) -> None:
        self.console = console or Console()
        self.preview_rows = preview_rows
        self._heads: dict[str, pa.Table] = {}
        self._row_counts: dict[str, int] = {}

    def target(self, output: str) -> str:
        return "stdout"

    def exists(self, output: str) -> bool:
        return False

    def write(self, output: str, table: pa.Table) -> None:
        head = self._heads.get(output)
        if head is None:
            self._heads[output] = table.slice(0, self.preview_rows)
        else:
            check_same_schema(output, head.schema, table.schema)
            if head.num_rows < self.preview_rows:
                missing = self.preview_rows - head.num_rows
                self._heads[output] = pa.concat_tables([head, table.slice(0, missing)])
        self._row_counts[output] = self._row_counts.get(output, 0) + table.num_rows

    def commit(self) -> dict[str, str]:
        for output, head in self._heads.items():
            shown = min(head.num_rows, self.preview_rows)
            title = f"{output} — {self._row_counts[output]} rows (first {shown} shown)"
            view = Table(title=title, title_justify="left")
            for field in head.schema:
                view.add_column(f"{field.name}\n[dim]{field.type}[/]", overflow="fold")
            columns = [column.to_pylist() for column in head.columns]
            for values in zip(*columns, strict=True):
                view.add_row(*("∅" if value is None else str(value) for value in values))
            self.console.print(view)
        return {output: "stdout" for output in self._heads}

    def abort(self) -> None:
        self._heads.clear()
