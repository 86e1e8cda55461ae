"""Discover: the paged file inventory, a live gitignore-style filter, tagging, preview and scans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Input, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from casparian_engine.errors import CasparianError, describe
from casparian_engine.wording import counted
from casparian_engine.workspace import Workspace

from ..actions import bindings_for
from ..assistant import DiscoverAssistant
from ..messages import (
    FileDetailsRead,
    FilePreviewed,
    FilesListed,
    FilesTagged,
    SuggestionsComputed,
)
from ..widgets.file_preview import FilePreview
from .base import ModeScreen, fitted_width, tail_path
from .dialogs import ConfirmDialog, DetailsDialog, PromptDialog
from .discover_contracts import DiscoverContracts
from .file_facts import file_facts, human_size

PAGE_SIZE = 100
PREVIEW_ROWS = 50
PREVIEW_DELAY_S = 0.15
"""How long the cursor rests on a file before its preview is read (moving on cancels it)."""
# Fixed widths so tags and size stay in view at 120 columns; the path takes what is left and is
# cut on the left, keeping the file name.
TAGS_WIDTH = 14
PARENT_WIDTH = 10
FILE_COLUMNS = (("✓", "sel", 1), ("path", "path", 0), ("tags", "tags", TAGS_WIDTH),
                ("size", "size", 9), ("parent", "parent", PARENT_WIDTH),
                ("depth", "depth", 5))  # fmt: skip
MIN_PATH_WIDTH = 20
NO_SCAN_YET = Content.from_markup("[dim]n scans a folder into the inventory[/dim]")
SCAN_ERROR = "✗ scan of "  # how the app words a failed scan on the error line
FILTER_ERROR = "✗ filter: "  # how this screen words a filter it cannot read
EMPTY_HINT = "No files yet: press n to scan a folder."


def tag_problem(workspace: Workspace, tag: str) -> str:
    """Why ``tag`` cannot name a tag (the engine's own rule), or '' when it can."""
    try:
        workspace.files.check_tag(tag)
    except CasparianError as exc:  # TaggingError
        return str(exc)
    return ""


def scan_failed(scan: Any) -> bool:
    """Whether the service's last scan ended in an error."""
    return not scan.running and scan.outcome.startswith("failed")


def cut_right(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class FilesUntagged(Message):
    """A tag was removed from files in the store."""

    tag: str
    file_count: int


class DiscoverScreen(DiscoverAssistant, DiscoverContracts, ModeScreen):
    """File list (left) and preview (right); the list is one page of the store at a time."""

    MODE = "discover"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # styles/modes.tcss
    HEADING = "Discover"
    MAIN_WIDGET = "#files"
    BINDINGS = bindings_for("discover")

    def __init__(self) -> None:
        super().__init__()
        self.page_offset = 0  # the offset of the page shown
        self.requested_offset = 0  # the offset asked for last (pages ahead of the one shown)
        self.total = 0
        self.filter_text = ""
        self.page_rows: list[Any] = []
        self.page_depths: list[int] = []
        self.drawn: Any = None  # what the table shows now (width, rows, marks): see _fill_table
        self.selected_ids: set[int] = set()
        self.suggestion: Any = None
        self.preview_timer: Timer | None = None
        self.previewed_path = ""  # the file the preview shows (or is being read)

    def compose_body(self) -> ComposeResult:
        yield Input(
            placeholder="filter, comma-separated: *.csv, invoices/, tag:money, kind:csv",
            id="filter",
        )
        yield Static("", id="suggestion")
        with Horizontal(id="scan-row"):
            yield Static("", id="scan-status")
            yield ProgressBar(total=None, show_eta=False, id="scan-progress")
        with Horizontal(classes="split"):
            table: DataTable[str] = DataTable(id="files", cursor_type="row", zebra_stripes=True)
            yield table
            yield FilePreview(id="preview-pane")
        yield Static("", id="files-status")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#files", DataTable)
        table.focus()
        self.service.changed.subscribe(self, self._on_service_changed)
        self._render_scan()
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    # --- loading ----------------------------------------------------------------------------
    def reload(self) -> None:
        self.load_page(self.filter_text, self.requested_offset)
        self.load_suggestion()

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover-files")
    def load_page(self, filter_text: str, offset: int) -> None:
        """One page of the files the filter selects, paged and matched by the engine; a newer
        request cancels this worker, which then stops reading."""
        worker = get_current_worker()
        listing = self.service.workspace.files.page(
            filter_text,
            PAGE_SIZE,
            offset,
            should_stop=lambda: worker.is_cancelled,
        )
        if not worker.is_cancelled:
            rows = list(zip(listing.records, listing.depths, strict=True))
            self.post_message(FilesListed(rows, listing.total, offset, filter_text))

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover-suggest")
    def load_suggestion(self) -> None:
        self.post_message(SuggestionsComputed(self.service.workspace.files.suggest_tags(limit=1)))

    def on_files_listed(self, message: FilesListed) -> None:
        if (message.pattern, message.offset) != (self.filter_text, self.requested_offset):
            return  # the answer to an older filter or page
        if not message.rows and message.offset >= message.total > 0:
            self.requested_offset = (message.total - 1) // PAGE_SIZE * PAGE_SIZE
            self.load_page(self.filter_text, self.requested_offset)  # the store shrank
            return
        self.page_rows = [record for record, _ in message.rows]
        self.page_depths = [depth for _, depth in message.rows]
        self.total, self.page_offset = message.total, message.offset
        self._fill_table()
        self._render_status()
        self.schedule_preview()  # the list changed under the cursor: the preview follows

    def _columns(self, table_width: int) -> tuple[list[tuple[str, str, int]], int]:
        """The columns that fit beside a path of at least ``MIN_PATH_WIDTH`` (depth, then
        parent, give way in a narrow table, e.g. beside the AI sidebar) and the path's width."""
        columns = list(FILE_COLUMNS)
        for droppable in ("depth", "parent"):
            fixed = sum(width for _, _, width in columns)
            if table_width - fixed - 2 * len(columns) - 2 >= MIN_PATH_WIDTH:
                break
            columns = [column for column in columns if column[1] != droppable]
        fixed = sum(width for _, _, width in columns)
        return columns, fitted_width(table_width, fixed, len(columns), MIN_PATH_WIDTH)

    def _fill_table(self) -> None:
        """Show the page with fixed column widths; the path column takes the width left over."""
        table = self.query_one("#files", DataTable)
        rows = [(r.id, r.path, r.tags, r.size) for r in self.page_rows]
        marked = self.selected_ids & {r.id for r in self.page_rows}
        drawn = (table.size.width, self.page_depths, marked, rows)
        if drawn == self.drawn:
            return  # a reload with nothing new (every return to Discover) redraws nothing
        self.drawn = drawn
        columns, path_width = self._columns(table.size.width)
        cursor = table.cursor_row
        table.clear(columns=True)
        for label, key, width in columns:
            table.add_column(label, key=key, width=width or path_width)
        for record, depth in zip(self.page_rows, self.page_depths, strict=True):
            parent = record.path.rpartition("/")[0].rpartition("/")[2] or "/"
            cells = {
                "sel": "✓" if record.id in self.selected_ids else " ",
                "path": Text(tail_path(record.path, path_width)),
                "tags": Text(cut_right(", ".join(record.tags), TAGS_WIDTH)),
                "size": Text(human_size(record.size), justify="right"),
                "parent": Text(cut_right(parent, PARENT_WIDTH)),
                "depth": Text(str(depth), justify="right"),
            }
            table.add_row(*(cells[key] for _, key, _ in columns), key=str(record.id))
        if self.page_rows:
            table.move_cursor(row=min(cursor, len(self.page_rows) - 1))

    def on_resize(self) -> None:
        self.call_after_refresh(self._fill_table)

    def _sync_sidebar(self, visible: bool) -> None:
        super()._sync_sidebar(visible)
        self.call_after_refresh(self._fill_table)

    def on_suggestions_computed(self, message: SuggestionsComputed) -> None:
        self.suggestion = message.suggestions[0] if message.suggestions else None
        if self.files_hint is not None:
            return  # the hint about the selected files stays until the selection changes
        line = (
            Content.from_markup("💡 $text  [dim](a to accept)[/dim]", text=self.suggestion.text)
            if self.suggestion
            else Content("")
        )
        self.query_one("#suggestion", Static).update(line)

    def _render_status(self) -> None:
        first = self.page_offset + 1 if self.total else 0
        last = self.page_offset + len(self.page_rows)
        status = f"files {first:,}–{last:,} of {self.total:,}"
        if not self.total:
            status = "No file matches the filter." if self.filter_text.strip() else EMPTY_HINT
        if self.selected_ids:
            status += f" · {len(self.selected_ids)} selected"
        self.query_one("#files-status", Static).update(Content(status))

    # --- filter -----------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "filter":
            return
        try:
            self.service.workspace.files.read_filter(event.value)
        except CasparianError as exc:  # FilterError
            self.show_error(f"filter: {describe(exc)}")  # the list keeps the last good filter
            return
        if self.error_text.startswith(FILTER_ERROR):
            self.clear_error()
        self.filter_text = event.value
        self.requested_offset = 0
        self.load_page(self.filter_text, 0)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one("#files", DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_page(self, step: int) -> None:
        """Each press moves one page on from the page last asked for, so quick presses add up
        even before their pages arrive; answers to superseded requests are dropped."""
        new_offset = self.requested_offset + step * PAGE_SIZE
        if 0 <= new_offset < max(self.total, 1):
            self.requested_offset = new_offset
            self.load_page(self.filter_text, new_offset)

    # --- selection, tags, preview, details ---------------------------------------------------
    @property
    def current_record(self) -> Any:
        table = self.query_one("#files", DataTable)
        if not self.page_rows or table.cursor_row >= len(self.page_rows):
            return None
        return self.page_rows[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "files":
            return
        record = self.current_record
        if record is not None:
            self.set_selection(record.path)
        self.schedule_preview()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter (or a second click) on a row opens its details."""
        event.stop()
        self.action_details()

    def action_toggle_select(self) -> None:
        record = self.current_record
        if record is None:
            return
        self.selected_ids ^= {record.id}
        table = self.query_one("#files", DataTable)
        mark = "✓" if record.id in self.selected_ids else " "
        table.update_cell(str(record.id), "sel", mark)
        self._render_status()
        self.refresh_hint()

    def action_tag_selection(self) -> None:
        ids = sorted(self.selected_ids) or ([self.current_record.id] if self.current_record else [])
        if not ids:
            self.notify("No file to tag: the list is empty.", severity="warning")
            return
        title = f"Tag {len(ids)} file{'s' if len(ids) != 1 else ''} as:"

        def tag_chosen(tag: str | None) -> None:
            if tag:
                self.tag_files(ids, tag)

        workspace = self.service.workspace
        dialog = PromptDialog(
            title, "tag name, e.g. invoices", check=lambda tag: tag_problem(workspace, tag)
        )
        self.app.push_screen(dialog, tag_chosen)

    def action_untag_selection(self) -> None:
        """Remove a tag from the selected files (or the highlighted one), asked, then confirmed
        with what will change."""
        ids = sorted(self.selected_ids) or ([self.current_record.id] if self.current_record else [])
        if not ids:
            self.notify("No file to untag: the list is empty.", severity="warning")
            return
        files = counted(len(ids), "file")
        shown = [r for r in self.page_rows if r.id in set(ids)]
        carried = sorted({tag for record in shown for tag in record.tags})
        hint = ", ".join(carried) if carried else "tag name"

        def confirmed(tag: str, yes: bool | None) -> None:
            if yes:
                self.untag_files(ids, tag)

        def tag_chosen(tag: str | None) -> None:
            if not tag:
                return
            carrying = sum(1 for record in shown if tag in record.tags)
            known = f" ({carrying:,} of the {len(shown):,} on this page carry it)" if shown else ""
            question = (
                f"Remove tag {tag!r} from {files}{known}? Files without it stay as they are; "
                "the change is audited."
            )
            self.app.push_screen(
                ConfirmDialog(question, "y removes it · n or Esc keeps it"),
                lambda yes: confirmed(tag, yes),
            )

        self.app.push_screen(
            PromptDialog(f"Remove which tag from {files}?", hint, carried[0] if carried else ""),
            tag_chosen,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover-tag")
    def untag_files(self, file_ids: list[int], tag: str) -> None:
        removed = self.service.workspace.files.untag(list(file_ids), tag)
        self.post_message(FilesUntagged(tag, removed))

    def on_files_untagged(self, message: FilesUntagged) -> None:
        self.selected_ids.clear()
        self.report_done(f"Removed tag {message.tag!r} from {counted(message.file_count, 'file')}")
        self.reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover-tag")
    def tag_files(self, file_ids: list[int], tag: str) -> None:
        tagged = self.service.workspace.files.tag(list(file_ids), tag)
        self.post_message(FilesTagged(tag, tagged))

    def on_files_tagged(self, message: FilesTagged) -> None:
        self.selected_ids.clear()
        self.clear_error()
        self.notify(
            f"Tagged {counted(message.file_count, 'file')} as {message.tag!r}", markup=False
        )
        self.reload()

    def action_accept_suggestion(self) -> None:
        if self.accept_files_hint():
            return
        if self.suggestion is None:
            self.notify("No tag suggestion to accept.", severity="warning")
            return
        self.accept_suggestion(self.suggestion)

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover-tag")
    def accept_suggestion(self, suggestion: Any) -> None:
        tagged = self.service.workspace.files.accept_suggestion(suggestion)
        self.post_message(FilesTagged(suggestion.suggested_tag, tagged))

    def action_preview(self) -> None:
        """Preview the highlighted file now (the preview also follows the cursor by itself);
        the list keeps the focus, so the keys still move its cursor."""
        self.query_one("#files", DataTable).focus()
        self.previewed_path = ""
        self.preview_current()

    def schedule_preview(self) -> None:
        """Preview the highlighted file once the cursor rests on it: quick moves through the
        list read only the file they stop on."""
        if self.preview_timer is not None:
            self.preview_timer.stop()
        self.preview_timer = self.set_timer(PREVIEW_DELAY_S, self.preview_current)

    def preview_current(self) -> None:
        self.preview_timer = None
        record = self.current_record
        pane = self.query_one(FilePreview)
        if record is None:
            self.previewed_path = ""
            pane.show_message("No file to preview." if self.total == 0 else "")
            return
        if record.os_path != self.previewed_path:
            self.previewed_path = record.os_path
            self.preview_file(record.os_path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover-preview")
    def preview_file(self, path: str) -> None:
        preview = self.service.workspace.files.preview(path, rows=PREVIEW_ROWS)
        self.post_message(FilePreviewed(path, preview))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "discover-preview" and event.state == WorkerState.ERROR:
            self.previewed_path = ""  # p, or coming back to the file, tries again
            self.query_one(FilePreview).show_message("")
        super().on_worker_state_changed(event)

    def on_file_previewed(self, message: FilePreviewed) -> None:
        if message.path != self.previewed_path:
            return  # the cursor moved on meanwhile
        self.query_one(FilePreview).show_preview(message.path, message.preview)

    def action_details(self) -> None:
        record = self.current_record
        if record is not None:
            self.read_details(record)

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover-details")
    def read_details(self, record: Any) -> None:
        """Gather the file's facts; its kind is checked against what the preview detects."""
        preview_format, preview_error = None, ""
        try:
            preview_format = self.service.workspace.files.preview(record.os_path, rows=1).format
        except Exception as exc:  # an unreadable file still has facts worth showing
            preview_error = f"could not read the file: {exc}"
        name = record.path.rpartition("/")[2]
        self.post_message(FileDetailsRead(name, file_facts(record, preview_format, preview_error)))

    def on_file_details_read(self, message: FileDetailsRead) -> None:
        if self.is_current:  # not over another dialog, nor after the user left the mode
            self.app.push_screen(DetailsDialog(message.title, message.facts))

    # --- scanning (the scan lives in the app service, so it survives mode switches) ---------
    def action_scan_folder(self) -> None:
        def folder_chosen(folder: str | None) -> None:
            if folder:
                self.service.start_scan(folder)

        self.app.push_screen(PromptDialog("Scan folder:", "/path/to/folder"), folder_chosen)

    def action_cancel_scan(self) -> None:
        scan = self.service.scan
        if scan is None or not scan.running:
            self.notify("No scan is running.", severity="warning")
            return
        self.service.cancel_scan()

    def _on_service_changed(self, what: str) -> None:
        if what == "scan":
            self._render_scan()
            scan = self.service.scan
            if (
                scan is not None
                and not scan_failed(scan)
                and self.error_text.startswith(SCAN_ERROR)
            ):
                self.clear_error()  # an older scan's failure no longer describes the scan shown
            if scan is not None and not scan.running and self.is_current:
                self.reload()  # a hidden screen reloads when it is shown again

    def _render_scan(self) -> None:
        """The scan line is always there, so a scan starting or ending changes what it says,
        never the screen's layout (a re-layout and full repaint while work runs)."""
        scan = self.service.scan
        row = self.query_one("#scan-row")
        bar = self.query_one("#scan-progress", ProgressBar)
        if scan is None:
            bar.visible = False
            self.query_one("#scan-status", Static).update(NO_SCAN_YET)
            return
        bar.visible = not scan_failed(scan)  # a full bar would say the failed scan completed
        row.set_class(scan_failed(scan), "-failed")
        if scan.running:
            bar.update(total=None)
            text = Content.from_markup(
                "scanning $root: $seen  [dim](x to cancel)[/dim]",
                root=scan.root,
                seen=counted(scan.files_seen, "file"),
            )
        else:
            bar.update(total=1, progress=1)
            text = Content.assemble(scan.root, ": ", scan.outcome)
        self.query_one("#scan-status", Static).update(text)
