"""The audit trail (A in Jobs): who did what, newest first, filtered as you type by text
(action, user or subject) and by a date range; pages are fetched as you scroll, so every entry
can be reached; Enter shows an entry's details."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from casparian_engine.local_dates import parse_local_date
from casparian_engine.wording import counted

from .dialogs import DetailsDialog

AUDIT_PAGE_ROWS = 200
"""Entries read at a time; the next page is read when the cursor or the view nears the end."""
FETCH_AHEAD_ROWS = 20
"""How close to the last read entry the cursor or the view comes before the next page is read."""
COLUMNS = (("when", 16), ("user", 8), ("action", 21))
MAX_FILTER_CHARS = 200


@dataclass(frozen=True)
class AuditFilter:
    """What the view shows: entries containing ``text``, at or after ``since`` and before
    ``until`` (epoch seconds, local dates read by ``read_dates``)."""

    text: str = ""
    since: float | None = None
    until: float | None = None

    def describe(self, since_text: str, until_text: str) -> str:
        parts = [f" containing {self.text!r}"] if self.text else []
        if self.since is not None:
            parts.append(f" from {since_text}")
        if self.until is not None:
            parts.append(f" to {until_text}")
        return "".join(parts)


@dataclass
class AuditRead(Message):
    """The first page of entries matching ``where`` was read, and how many match in all."""

    generation: int
    where: AuditFilter
    entries: list[Any]
    total: int


@dataclass
class AuditPageRead(Message):
    """A further page of entries (older than the last shown) was read."""

    generation: int
    entries: list[Any]


def when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def cell(value: object) -> Text:
    return Text(str(value), overflow="ellipsis", no_wrap=True, end="")


def read_filter(text: str, since_text: str, until_text: str) -> AuditFilter:
    """The view's filter from its three inputs; ValueError says which input is wrong and why."""
    since = parse_local_date(since_text, "from")
    until = parse_local_date(until_text, "to", end_of_day=True)
    if since is not None and until is not None and since >= until:
        raise ValueError(
            f"from {since_text.strip()} is not before to {until_text.strip()}: nothing between"
        )
    return AuditFilter(text.strip()[:MAX_FILTER_CHARS], since, until)


class AuditScreen(ModalScreen[None]):
    """The audit trail; filters keep entries whose action, user or subject contains the text,
    within the date range (from a date's start to the end of the 'to' date)."""

    DEFAULT_CSS = """
    AuditScreen { align: center middle; }
    AuditScreen > Vertical {
        width: 95%; height: 90%; border: round $primary; background: $surface; padding: 0 1;
    }
    AuditScreen #audit-filters { height: 3; }
    AuditScreen #audit-filter { width: 1fr; }
    AuditScreen #audit-since, AuditScreen #audit-until { width: 21; }
    AuditScreen #audit-table { height: 1fr; }
    AuditScreen #audit-status { height: auto; max-height: 2; color: $foreground 70%; }
    AuditScreen #audit-problem { height: auto; color: $error; display: none; }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Any] = []
        self.where = AuditFilter()
        self.total = 0
        self.generation = 0
        self.fetching_more = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Audit trail[/b]  [dim]who did what, newest first[/dim]")
            with Horizontal(id="audit-filters"):
                yield Input(placeholder="action, user or subject…", id="audit-filter")
                yield Input(placeholder="from YYYY-MM-DD", id="audit-since")
                yield Input(placeholder="to YYYY-MM-DD", id="audit-until")
            yield Static("", id="audit-problem")
            table: DataTable[Text] = DataTable(id="audit-table", cursor_type="row")
            yield table
            yield Static("", id="audit-status")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        table.add_column("subject", key="subject")
        table.focus()
        self.watch(table, "scroll_y", self._view_scrolled, init=False)
        self.generation += 1
        self.load(self.generation, self.where)

    @property
    def workspace(self) -> Any:
        return self.app.service.workspace  # type: ignore[attr-defined]

    def _inputs(self) -> tuple[str, str, str]:
        """What the text, from and to filters hold."""
        text, since, until = (
            self.query_one(f"#audit-{name}", Input).value for name in ("filter", "since", "until")
        )
        return text, since, until

    @property
    def problem_text(self) -> str:
        return str(self.query_one("#audit-problem", Static).render())

    # --- reading ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="audit")
    def load(self, generation: int, where: AuditFilter) -> None:
        workspace = self.workspace
        filters = {"containing": where.text or None, "since": where.since, "until": where.until}
        entries = workspace.audit.entries(limit=AUDIT_PAGE_ROWS, **filters)
        total = workspace.audit.count(**filters) if len(entries) == AUDIT_PAGE_ROWS else 0
        self.post_message(AuditRead(generation, where, entries, max(total, len(entries))))

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit-more")
    def load_more(self, generation: int, where: AuditFilter, before_id: int) -> None:
        entries = self.workspace.audit.entries(
            limit=AUDIT_PAGE_ROWS,
            containing=where.text or None,
            since=where.since,
            until=where.until,
            before_id=before_id,
        )
        self.post_message(AuditPageRead(generation, entries))

    def on_input_changed(self, event: Input.Changed) -> None:
        problem = self.query_one("#audit-problem", Static)
        try:
            where = read_filter(*self._inputs())
        except ValueError as exc:
            problem.update(Text(f"✗ {exc}"))  # the entries shown stay as they were
            problem.display = True
            return
        problem.update("")
        problem.display = False
        self.generation += 1
        self.fetching_more = False
        self.load(self.generation, where)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def on_audit_read(self, message: AuditRead) -> None:
        if message.generation != self.generation:
            return  # an answer for a filter since changed
        self.where, self.total = message.where, message.total
        self.entries = []
        self.query_one(DataTable).clear()
        self._add(message.entries)

    def on_audit_page_read(self, message: AuditPageRead) -> None:
        if message.generation != self.generation:
            return
        self.fetching_more = False
        self._add(message.entries)
        if not message.entries:
            self.total = len(self.entries)  # entries went away since the count: say so
            self._show_status()

    def _add(self, entries: list[Any]) -> None:
        table = self.query_one(DataTable)
        for entry in entries:
            table.add_row(
                cell(when(entry.at)), cell(entry.os_user), cell(entry.action), cell(entry.subject)
            )
        self.entries.extend(entries)
        self.total = max(self.total, len(self.entries))
        self._show_status()

    def _show_status(self) -> None:
        _, since_text, until_text = self._inputs()
        matching = self.where.describe(since_text.strip(), until_text.strip())
        shown = len(self.entries)
        if shown < self.total:
            of_total = counted(self.total, "entry", "entries")
            head = f"{shown:,} of {of_total}{matching} (scroll for more)"
        else:
            head = f"{counted(shown, 'entry', 'entries')}{matching}"
        self.query_one("#audit-status", Static).update(
            Text(f"{head} · Enter shows one · / filters · Esc closes")
        )

    # --- fetch as you scroll ------------------------------------------------------------------
    def _fetch_more_if_near_end(self, row: int) -> None:
        if self.fetching_more or not self.entries or len(self.entries) >= self.total:
            return
        if row >= len(self.entries) - FETCH_AHEAD_ROWS:
            self.fetching_more = True
            self.load_more(self.generation, self.where, self.entries[-1].id)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._fetch_more_if_near_end(event.cursor_row)

    def _view_scrolled(self, scroll_y: float) -> None:
        table = self.query_one(DataTable)
        self._fetch_more_if_near_end(int(scroll_y) + table.scrollable_content_region.height)

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
        self.query_one("#audit-filter", Input).focus()

    def action_close(self) -> None:
        """Esc in a filter leaves it; otherwise it closes the view."""
        if isinstance(self.focused, Input):
            self.query_one(DataTable).focus()
            return
        self.dismiss(None)
