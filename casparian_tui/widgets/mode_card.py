"""A Home hub card: a mode's name, purpose, key and live figure; click opens the mode."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static


class ModeCard(Vertical):
    """One card of the Home grid."""

    figure: reactive[str] = reactive("…")
    selected: reactive[bool] = reactive(False)

    class Chosen(Message):
        """The card was clicked."""

        def __init__(self, mode: str) -> None:
            super().__init__()
            self.mode = mode

    def __init__(self, mode: str, title: str, purpose: str, key: str) -> None:
        super().__init__(id=f"card-{mode}", classes="mode-card")
        self.mode = mode
        self.title = title
        self.purpose = purpose
        self.key = key

    def compose(self) -> ComposeResult:
        yield Static(f"[b]{self.title}[/b]  [dim]{self.key}[/dim]", classes="card-title")
        yield Static(self.purpose, classes="card-purpose")
        yield Static(self.figure, classes="card-figure")

    def watch_figure(self, figure: str) -> None:
        if self.is_mounted:
            self.query_one(".card-figure", Static).update(figure)

    def watch_selected(self, selected: bool) -> None:
        self.set_class(selected, "-selected")

    def on_click(self) -> None:
        self.post_message(self.Chosen(self.mode))
