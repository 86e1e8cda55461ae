"""The audit trail (A in Jobs): who did what, newest first, filtered as you type; Enter shows an
entry's details."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from casparian_engine.wording import counted

from .dialogs import DetailsDialog

AUDIT_ROWS = 500
"""The newest entries shown (a filter narrows them in SQL first)."""
COLUMNS = (("when", 16), ("user", 10), ("action", 24))


@dataclass
class AuditRead(Message):
    """Audit entries matching ``text`` were read."""

    text: str
    entries: list[Any]


def when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def cell(value: object) -> Text:
    return Text(str(value), overflow="ellipsis", no_wrap=True, end="")


class AuditScreen(ModalScreen[None]):
    """The audit trail; the filter keeps entries whose action, user or subject contains it."""

    DEFAULT_CSS = """
    AuditScreen { align: center middle; }
    AuditScreen > Vertical {
        width: 95%; height: 90%; border: round $primary; background: $surface; padding: 0 1;
    }
    AuditScreen #audit-table { height: 1fr; }
    AuditScreen #audit-status { height: 1; color: $foreground 70%; }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Any] = []
        self.shown_text = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Audit trail[/b]  [dim]who did what, newest first[/dim]")
            yield Input(placeholder="filter: action, user or subject contains…", id="audit-filter")
            table: DataTable[Text] = DataTable(id="audit-table", cursor_type="row")
            yield table
            yield Static("", id="audit-status")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        table.add_column("subject", key="subject")
        table.focus()
        self.load("")

    @property
    def workspace(self) -> Any:
        return self.app.service.workspace  # type: ignore[attr-defined]

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit")
    def load(self, text: str) -> None:
        entries = self.workspace.audit_entries(limit=AUDIT_ROWS, containing=text or None)
        self.post_message(AuditRead(text, entries))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.load(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def on_audit_read(self, message: AuditRead) -> None:
        if message.text != self.query_one(Input).value.strip():
            return  # an answer for a filter since changed
        self.entries, self.shown_text = message.entries, message.text
        table = self.query_one(DataTable)
        table.clear()
        for entry in message.entries:
            table.add_row(
                cell(when(entry.at)), cell(entry.os_user), cell(entry.action), cell(entry.subject)
            )
        shown = counted(len(message.entries), "entry", "entries")
        more = f" (the newest {AUDIT_ROWS:,})" if len(message.entries) == AUDIT_ROWS else ""
        matching = f" containing {message.text!r}" if message.text else ""
        self.query_one("#audit-status", Static).update(
            Text(f"{shown}{matching}{more} · Enter shows one · / filters · Esc closes")
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.cursor_row < len(self.entries):
            entry = self.entries[event.cursor_row]
            facts = {
                "when": when(entry.at),
                "user": entry.os_user,
                "action": entry.action,
                "subject": entry.subject,
                **{key: json.dumps(value) for key, value in entry.details.items()},
            }
            self.app.push_screen(DetailsDialog(f"audit entry {entry.id}", facts))

    def key_slash(self) -> None:
        self.query_one(Input).focus()

    def action_close(self) -> None:
        """Esc in the filter leaves it; otherwise it closes the view."""
        if isinstance(self.focused, Input):
            self.query_one(DataTable).focus()
            return
        self.dismiss(None)
