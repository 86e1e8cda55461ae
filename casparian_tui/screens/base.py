"""The frame every mode shares: title bar, body, inline error line, AI sidebar and footer."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from casparian_engine.errors import describe

from ..widgets.ai_sidebar import AISidebar
from ..widgets.error_line import ErrorLine
from ..widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from ..app import CasparianApp
    from ..services import EngineService


def tail_path(path: str, width: int) -> str:
    """``path`` cut on the LEFT to ``width`` characters, so the file name that tells files apart
    stays visible: '/data/in/invoices/2024/01/inv_0001.csv' → '…/2024/01/inv_0001.csv'."""
    if len(path) <= width:
        return path
    if width < 2:
        return "…"[:width]
    tail = path[len(path) - (width - 1) :]
    slash = tail.find("/")
    return "…" + (tail[slash:] if 0 <= slash < len(tail) - 1 else tail)


WORKER_LABELS = {
    "discover-files": "file list",
    "home-stats": "figures",
    "inspect-source-line": "source line",
    "inspect-tables": "table list",
    "jobs-act": "job action",
    "jobs-detail": "job detail",
    "jobs-list": "job list",
    "process-files": "matched files",
    "process-parsers": "parser list",
}


def worker_label(group: str) -> str:
    """What a person calls a worker's job: 'inspect-stats' → 'stats' (the mode is on screen)."""
    if group in WORKER_LABELS:
        return WORKER_LABELS[group]
    mode, _, task = group.partition("-")
    return task.replace("-", " ") if task and mode in {"home", "discover", "process",
                                                       "inspect", "jobs"} else group  # fmt: skip


def fitted_width(table_width: int, fixed_widths: int, column_count: int, minimum: int) -> int:
    """The width left for a table's one flexible column: the table minus the fixed columns,
    each column's two padding cells and the vertical scrollbar."""
    scrollbar = 2
    return max(minimum, table_width - fixed_widths - 2 * column_count - scrollbar)


class ModeScreen(Screen[None]):
    """Base of the Home, Discover, Process, Inspect and Jobs screens."""

    MODE: ClassVar[str] = "home"
    HEADING: ClassVar[str] = "Home"
    MAIN_WIDGET: ClassVar[str] = ""
    """The selector of the widget that has the focus at the mode's top level."""

    focus_before_chat: Widget | None = None
    """The widget that had the focus when the chat input took it; it gets it back."""

    def __init__(self) -> None:
        super().__init__()
        # Textual gives a new screen a stale CSS generation, so the first switch to each mode
        # re-tokenised the whole stylesheet and restyled the app (80-120 ms). A new screen's
        # widgets are styled with the stylesheet as they mount, so it starts at the generation
        # the stylesheet was last parsed for; a theme change not yet applied, or a later one,
        # still marks it stale. tests/tui/test_responsiveness.py notices if Textual changes this.
        self._css_update_count = self.casparian.css_generation_applied

    @property
    def casparian(self) -> CasparianApp:
        from ..app import CasparianApp

        assert isinstance(self.app, CasparianApp)
        return self.app

    @property
    def service(self) -> EngineService:
        return self.casparian.service

    def compose(self) -> ComposeResult:
        yield Static(
            f"[b]Casparian Flow[/b] › {self.HEADING}   [dim]{self.service.home_label}[/dim]",
            classes="mode-title",
        )
        with Horizontal(classes="mode-row"):
            with Vertical(classes="mode-body"):
                yield from self.compose_body()
                yield ErrorLine(classes="error-line")
            # the service (provider, saved conversation) is built when the sidebar is shown
            sidebar = AISidebar(lambda: self.service.ai, classes="ai-sidebar")
            sidebar.display = self.casparian.show_ai_sidebar
            yield sidebar
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        """The mode's own widgets."""
        yield from ()

    def on_mount(self) -> None:
        sidebar = self.query_one(AISidebar)
        sidebar.mode_name = self.MODE
        self.watch(self.app, "show_ai_sidebar", self._sync_sidebar)

    def on_screen_resume(self) -> None:
        """A question asked in another mode's sidebar shows here too."""
        self.query_one(AISidebar).sync_history()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed worker of this mode becomes its red error line, named as a person would."""
        if event.state == WorkerState.ERROR:
            worker = event.worker
            self.casparian.show_error(
                f"{worker_label(worker.group or worker.name)}: {describe(worker.error)}", self
            )

    def _sync_sidebar(self, visible: bool) -> None:
        """Show or hide the sidebar; the shown screen's chat input takes the focus on opening
        and gives it back on closing."""
        sidebar = self.query_one(AISidebar)
        if visible:
            sidebar.display = True
            sidebar.sync_history()
            if self.is_current:
                if self.focused is None or sidebar not in self.focused.ancestors_with_self:
                    self.focus_before_chat = self.focused
                sidebar.focus_chat()
            return
        chat_had_focus = self.focused is not None and sidebar in self.focused.ancestors_with_self
        sidebar.display = False
        if chat_had_focus:
            self.leave_chat()

    def leave_chat(self) -> None:
        """Give the focus back to the widget that had it before the chat input."""
        target = self.focus_before_chat
        self.focus_before_chat = None
        if target is not None and target.is_attached and target.focusable:
            target.focus()
        else:
            self.set_focus(None)  # the screen's own keys apply again

    @on(AISidebar.LeaveRequested)
    def _chat_left(self, message: AISidebar.LeaveRequested) -> None:
        message.stop()
        self.leave_chat()

    # --- Esc and q: one level back at a time -------------------------------------------------
    def go_back(self, quit_at_home: bool = False) -> None:
        """Esc (and q, which an input types instead): leave an input for the mode's main
        widget, else go back one level inside the mode, else from its top level to Home; on
        Home, q quits (asking first while work runs)."""
        if isinstance(self.focused, Input):
            self.focus_main()
            return
        if self.back_one_level():
            return
        if self.MODE != "home":
            self.casparian.action_open_mode("home")
        elif quit_at_home:
            self.casparian.call_later(self.casparian.action_quit)

    def back_one_level(self) -> bool:
        """Go back one level inside the mode (a sub-view, a focused detail); False at the top."""
        if self.MAIN_WIDGET and self.focused is not None:
            main = self.query_one(self.MAIN_WIDGET)
            if self.focused is not main and main.focusable:
                main.focus()
                return True
        return False

    def focus_main(self) -> None:
        """Give the focus to the mode's main widget (or to the screen, for its keys)."""
        if self.MAIN_WIDGET:
            self.query_one(self.MAIN_WIDGET).focus()
        else:
            self.set_focus(None)

    def report_done(self, text: str) -> None:
        """A success: the error line's older failure no longer describes the state, so it goes,
        and the text shows as a toast (literally: it quotes names and paths)."""
        self.clear_error()
        self.notify(text, markup=False)

    def set_selection(self, text: str) -> None:
        """Tell the AI sidebar what the user has selected in this mode."""
        self.query_one(AISidebar).selection = text

    def show_error(self, text: str) -> None:
        self.query_one(ErrorLine).show_error(text)

    def clear_error(self) -> None:
        self.query_one(ErrorLine).clear_error()

    @property
    def error_text(self) -> str:
        return self.query_one(ErrorLine).error_text
