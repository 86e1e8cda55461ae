"""A red inline error line: engine errors show here instead of crashing the app.

Errors quote what the user typed and what the data holds (file names, filters, values), so the
line shows its text exactly as written: it is never read as markup."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class ErrorLine(Static):
    """Shows the latest error of its screen; hidden while there is none."""

    def show_error(self, text: str) -> None:
        self.update(Content(f"✗ {text}"))
        self.add_class("-visible")

    def clear_error(self) -> None:
        self.update("")
        self.remove_class("-visible")

    @property
    def error_text(self) -> str:
        return str(self.render()) if self.has_class("-visible") else ""
