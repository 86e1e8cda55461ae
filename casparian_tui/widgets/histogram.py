"""A column's histogram (header line, then one bar per bin); a click on a bar names its bin."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import Static


class Histogram(Static):
    """The histogram text; clicking bar ``i`` (line ``i + 1``) posts ``BarClicked(i)``."""

    @dataclass
    class BarClicked(Message):
        """The person clicked the bar of bin ``index`` (0 = the first bar under the header)."""

        index: int

    def on_click(self, event: events.Click) -> None:
        line = event.y - self.styles.padding.top + int(self.scroll_y)
        if line >= 1:
            self.post_message(self.BarClicked(line - 1))
