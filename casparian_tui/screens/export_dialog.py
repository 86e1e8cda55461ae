"""Inspect's export prompt: an empty path is refused in place, an existing file needs a yes."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from .dialogs import PromptDialog

EMPTY_PATH = "type a file name ending in .parquet or .csv (Esc cancels)"


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question: y or Enter says yes, n or Esc says no."""

    DEFAULT_CSS = """
    ConfirmDialog {
        align: center middle;
    }
    """
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question), id="confirm-question")
            yield Static(Text("y overwrites · n or Esc goes back", style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ExportDialog(PromptDialog):
    """Ask where to export; returns the path as typed, or None when cancelled.

    Enter on an empty path shows why nothing happened instead of closing; a path naming a file
    that exists asks before the export replaces it (no keeps the dialog open to edit the path).
    """

    DEFAULT_CSS = """
    ExportDialog #export-error {
        color: $error;
        height: auto;
    }
    """

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text), classes="panel-title")
            yield Input(value=self.initial_value, placeholder=self.placeholder, id="prompt")
            yield Static("", id="export-error")

    def show_problem(self, text: str) -> None:
        self.query_one("#export-error", Static).update(Text(text))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        event.prevent_default()  # PromptDialog's handler (a base class's) would close at once
        destination = event.value.strip()
        if not destination:
            self.show_problem(EMPTY_PATH)
            return
        target = Path(destination).expanduser()
        if target.is_dir():
            self.show_problem(f"{target} is a folder: add a file name ending in .parquet or .csv")
            return
        if not target.exists():
            self.dismiss(destination)
            return

        def answered(overwrite: bool | None) -> None:
            if overwrite:
                self.dismiss(destination)
            else:
                self.show_problem(f"{target} exists: type another name, or Enter to be asked again")

        self.app.push_screen(ConfirmDialog(f"{target} exists. Overwrite it?"), answered)
