"""Inspect's export prompt: an empty path is refused in place, an existing file needs a yes."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from .dialogs import ConfirmDialog, PromptDialog

EMPTY_PATH = "type a file name ending in .parquet or .csv (Esc cancels)"


class ExportDialog(PromptDialog):
    """Ask where to export; returns the path as typed, or None when cancelled.

    Enter on an empty path shows why nothing happened instead of closing; a path naming a file
    that exists asks before the export replaces it (no keeps the dialog open to edit the path).
    """

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
