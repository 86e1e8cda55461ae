"""Small modal dialogs: one-line prompts (tag name, folder, filter, export path) and details."""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text; Enter returns it, Esc returns None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.initial_value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content(self.title_text), classes="panel-title")
            yield Input(value=self.initial_value, placeholder=self.placeholder, id="prompt")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class DetailsDialog(ModalScreen[None]):
    """Every fact about one thing (a file, a quarantined row) as label: value lines."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, title: str, facts: Mapping[str, object]) -> None:
        super().__init__()
        self.title_text = title
        self.facts = facts

    def compose(self) -> ComposeResult:
        width = max((len(k) for k in self.facts), default=0)
        lines = Content("\n").join(
            Content.assemble((label.ljust(width), "bold"), "  ", str(value))
            for label, value in self.facts.items()
        )  # facts are data (paths with "[" in them): never read as markup
        with VerticalScroll(classes="dialog details"):
            yield Static(Content(self.title_text), classes="panel-title")
            yield Static(lines, id="details-body")

    def action_close(self) -> None:
        self.dismiss(None)
