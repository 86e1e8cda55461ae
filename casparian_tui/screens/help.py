"""The help screen, generated from the action registry so it cannot drift from the keys."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..actions import GLOBAL, REGISTRY, ActionSpec


def help_order(current_mode: str = "") -> list[ActionSpec]:
    """Registry entries in help order: global keys first, then the current mode's (on screen
    without scrolling), then each other mode's by name."""
    others = sorted({s.scope for s in REGISTRY} - {GLOBAL, current_mode})
    scopes = [GLOBAL, current_mode, *others]
    return [spec for scope in scopes for spec in REGISTRY if spec.scope == scope]


def help_table(specs: list[ActionSpec], current_mode: str) -> Table:
    """One row per action, the current mode's keys bold and the rest dim."""
    table = Table(box=None, expand=True, show_header=True, header_style="bold")
    where = max((len(spec.scope) for spec in specs), default=5)
    keys = max((len(spec.keys_for_people) for spec in specs), default=4)
    table.add_column("Where", no_wrap=True, min_width=where)  # a long action wraps instead
    table.add_column("Keys", no_wrap=True, min_width=keys)
    table.add_column("Action")
    for spec in specs:
        style = "bold" if spec.scope in (GLOBAL, current_mode) else "dim"
        table.add_row(spec.scope, spec.keys_for_people, spec.help, style=style)
    return table


class HelpScreen(ModalScreen[None]):
    """Lists every key; Esc, q or ? closes it."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, current_mode: str) -> None:
        super().__init__()
        self.current_mode = current_mode
        self.listed = help_order(current_mode)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-panel"):
            yield Static(f"[b]Keys[/b] — you are in {self.current_mode}", classes="panel-title")
            yield Static(help_table(self.listed, self.current_mode), id="help-table")
            yield Static("Ctrl+p opens the command palette.", classes="dim")

    def on_mount(self) -> None:
        self.query_one("#help-panel", VerticalScroll).focus()  # Down, PageDown and End scroll

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
