"""The result grid: a query's rows read from DuckDB a window at a time, as the grid scrolls.

``WindowedBackend`` is a textual-fastdatatable backend whose row count is the whole result's
(millions are fine: the grid draws only the rows in view). Rows it holds come from windows of
``WINDOW_ROWS`` rows, at most ``KEPT_WINDOWS`` of them at once (least recently drawn go first).
A row not held yet is drawn as '…' and its window is asked for; ``ResultGrid`` reads the windows
in view in a thread worker (``reader(offset, limit)``, the engine's guarded query) and redraws
when they arrive. Sorting is the engine's (a new reader), never an in-memory sort.

textual-fastdatatable names its widget ``DataTable`` and ships default CSS for that type name,
so its rules also matched every Textual ``DataTable`` (whichever table was styled after the grid
lost its background). The grid inherits none of that CSS: its look is in styles/modes.tcss.
Values and column names are data: shown literally, never parsed as console markup.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
from rich.text import Text
from textual import work
from textual.message import Message
from textual.worker import get_current_worker
from textual_fastdatatable import ArrowBackend, DataTable
from textual_fastdatatable.backend import DataTableBackend

WINDOW_ROWS = 256
KEPT_WINDOWS = 64
MAX_COLUMN_WIDTH = 40
NOT_READ = "…"
"""What a cell shows until its window arrives."""
OVER_BUDGET = "⋯ over the byte budget"
"""What a row the engine's byte budget left out of its window shows."""

WindowReader = Callable[[int, int], Any]
"""``reader(offset, limit)`` → an object with ``rows`` (Arrow) and ``truncated_reason``."""


class WindowedBackend(DataTableBackend[pa.Table]):
    """A read-only backend over ``total`` rows, holding only the windows read so far."""

    def __init__(  # noqa: D107 - the base class's signature is abstract
        self,
        data: pa.Table,
        max_rows: int | None = None,
        column_names: Sequence[str] | None = None,
        *,
        total: int = 0,
        window_rows: int = WINDOW_ROWS,
    ) -> None:
        super().__init__(data)
        self.schema = data.schema
        self.total = total
        self.window_rows = window_rows
        self.windows: OrderedDict[int, ArrowBackend] = OrderedDict()
        self.wanted: set[int] = set()
        """Windows asked for by a draw and not read yet."""
        self.cut_reason = ""
        """Why a window held fewer rows than asked for (the engine's byte budget)."""
        first = ArrowBackend(data)
        self._widths = [
            min(max(width, len(name)), MAX_COLUMN_WIDTH)
            for width, name in zip(first.column_content_widths, data.column_names, strict=True)
        ]
        if data.num_rows:
            self.put(0, data)

    @classmethod
    def from_pydict(
        cls,
        data: Mapping[str, Sequence[Any]],
        max_rows: int | None = None,
        column_names: Sequence[str] | None = None,
    ) -> WindowedBackend:
        table = pa.table(dict(data))
        return cls(table, total=table.num_rows)

    def put(self, index: int, rows: pa.Table, cut_reason: str = "") -> bool:
        """Hold window ``index``; drop the least recently drawn beyond ``KEPT_WINDOWS``.
        True when a column had to widen for this window's values (a wider number never shows
        cut: '4999' in a column measured on '0'…'255')."""
        window = ArrowBackend(rows)
        self.windows[index] = window
        self.windows.move_to_end(index)
        widths = [
            max(old, min(new, MAX_COLUMN_WIDTH))
            for old, new in zip(self._widths, window.column_content_widths, strict=True)
        ]
        widened, self._widths = widths != self._widths, widths
        self.wanted.discard(index)
        if cut_reason:
            self.cut_reason = cut_reason
        while len(self.windows) > KEPT_WINDOWS:
            self.windows.popitem(last=False)
        return widened

    def holds(self, row_index: int) -> bool:
        return row_index // self.window_rows in self.windows

    @property
    def source_data(self) -> pa.Table:
        return self.schema.empty_table()

    @property
    def source_row_count(self) -> int:
        return self.total

    @property
    def row_count(self) -> int:
        return self.total

    @property
    def columns(self) -> Sequence[str]:
        names: list[str] = self.schema.names
        return names

    @property
    def column_content_widths(self) -> Sequence[int]:
        return self._widths

    def _window(self, row_index: int) -> tuple[ArrowBackend | None, int]:
        index, local = divmod(row_index, self.window_rows)
        window = self.windows.get(index)
        if window is None:
            self.wanted.add(index)
            return None, local
        self.windows.move_to_end(index)
        return window, local

    def get_row_at(self, index: int) -> Sequence[Any]:
        window, local = self._window(index)
        if window is None:
            return [NOT_READ] * len(self.schema)
        if local >= window.row_count:
            return [OVER_BUDGET] + [""] * (len(self.schema) - 1)
        return window.get_row_at(local)

    def get_cell_at(self, row_index: int, column_index: int) -> Any:
        window, local = self._window(row_index)
        if window is None:
            return NOT_READ
        if local >= window.row_count:
            return OVER_BUDGET if column_index == 0 else ""
        return window.get_cell_at(local, column_index)

    def get_column_at(self, index: int) -> Sequence[Any]:
        raise TypeError("a windowed result has no whole column in memory: export it instead")

    def append_column(self, label: str, default: Any | None = None) -> int:
        raise TypeError("a query result is read-only")

    def append_rows(self, records: Iterable[Iterable[Any]]) -> list[int]:
        raise TypeError("a query result is read-only")

    def drop_row(self, row_index: int) -> None:
        raise TypeError("a query result is read-only")

    def update_cell(self, row_index: int, column_index: int, value: Any) -> None:
        raise TypeError("a query result is read-only")

    def sort(self, by: list[tuple[str, Literal["ascending", "descending"]]] | str) -> None:
        raise TypeError("a query result is sorted by the engine: open it with an order")


@dataclass
class WindowsRead(Message):
    """Windows of a grid's result were read (index → rows, and why any came short)."""

    grid: ResultGrid
    generation: int
    windows: dict[int, pa.Table]
    cut_reason: str = ""


class ResultGrid(DataTable, inherit_css=False):
    """A scrolling grid over a whole query result, reading the windows in view on demand."""

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES  # not inherited along with the CSS

    def __init__(
        self, first: pa.Table, total: int, reader: WindowReader, generation: int, **options: Any
    ) -> None:
        self.windowed = WindowedBackend(first, total=total)
        self.reader = reader
        self.generation = generation
        self._fetch_scheduled = False
        labels: list[str | Text] = [Text(name) for name in first.column_names]
        super().__init__(
            backend=self.windowed, column_labels=labels, render_markup=False, **options
        )

    class ViewMoved(Message):
        """The grid scrolled or changed size: the rows in view are others."""

    def on_resize(self) -> None:
        self.post_message(self.ViewMoved())

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if int(old) != int(new):
            self.post_message(self.ViewMoved())

    def render_line(self, y: int) -> Any:
        strip = super().render_line(y)
        if self.windowed.wanted and not self._fetch_scheduled:
            self._fetch_scheduled = True
            self.call_after_refresh(self._read_wanted)
        return strip

    def _rows_in_view(self) -> range:
        first = int(self.scroll_y)
        return range(first, min(self.windowed.total, first + max(self.size.height, 1)))

    def _read_wanted(self) -> None:
        """Read the wanted windows still in view (a fast scroll passes many it never needs)."""
        self._fetch_scheduled = False
        rows = self._rows_in_view()
        size = self.windowed.window_rows
        in_view = set(range(rows.start // size, max(rows.stop - 1, rows.start) // size + 1))
        wanted = sorted(self.windowed.wanted & in_view)
        self.windowed.wanted.clear()
        if wanted:
            self.read_windows(wanted)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-grid")
    def read_windows(self, indexes: list[int]) -> None:
        worker = get_current_worker()
        size = self.windowed.window_rows
        for index in indexes:
            if worker.is_cancelled:
                return  # the grid scrolled on: a newer read has the windows now in view
            window = self.reader(index * size, size)
            self.post_message(
                WindowsRead(self, self.generation, {index: window.rows}, window.truncated_reason)
            )

    def on_windows_read(self, message: WindowsRead) -> None:
        if message.grid is not self or message.generation != self.generation:
            return
        message.stop()
        widened = False
        for index, rows in message.windows.items():
            widened = self.windowed.put(index, rows, message.cut_reason) or widened
        if widened:
            self._ordered_columns = None  # measured again from the backend's widths
            self._update_dimensions([])
        self._clear_caches()
        self.refresh()

    @property
    def first_row_in_view(self) -> int:
        return int(self.scroll_y)

    def rows_in_view(self) -> tuple[int, int]:
        """The first and last row (counted from 1) the grid has room to show; (0, 0) if none."""
        if not self.windowed.total:
            return 0, 0
        header = 1 if self.show_header else 0
        height = max(self.scrollable_content_region.height - header, 1)
        first = int(self.scroll_y)
        return first + 1, min(self.windowed.total, first + height)

    def cell_text(self, row: int, column: int) -> str | None:
        """The cell's value as text, or None while its window is not read."""
        if not self.windowed.holds(row):
            return None
        value = self.windowed.get_cell_at(row, column)
        return "" if value is None else str(value)

    def row_text(self, row: int) -> str | None:
        """The row's values joined by tabs, or None while its window is not read."""
        if not self.windowed.holds(row):
            return None
        return "\t".join("" if v is None else str(v) for v in self.windowed.get_row_at(row))
