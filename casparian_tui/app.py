"""The Casparian Flow TUI: modes, global keys, theme, palette and the one worker-error handler."""

from __future__ import annotations

import gc
import importlib
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from casparian_engine.errors import describe
from casparian_engine.workspace import Workspace

from .actions import GLOBAL, MODE_NAMES, REGISTRY, bindings_for
from .messages import RunFinished, RunProgressed, RunStopping, ScanFinished
from .screens.base import ModeScreen
from .screens.dialogs import ConfirmDialog
from .screens.help import HelpScreen
from .screens.home import HomeScreen
from .services import EngineService
from .theme import CASPARIAN_THEME

STYLES_DIR = Path(__file__).resolve().parent.parent / "styles"


def mode_screen(mode: str) -> ModeScreen:
    """A new screen of one mode, its module imported on first use."""
    if mode == "discover":
        from .screens.discover import DiscoverScreen

        return DiscoverScreen()
    if mode == "process":
        from .screens.process import ProcessScreen

        return ProcessScreen()
    if mode == "inspect":
        from .screens.inspect import InspectScreen

        return InspectScreen()
    from .screens.jobs import JobsScreen

    return JobsScreen()


MODE_MODULES = (
    "casparian_tui.screens.discover",
    "casparian_tui.screens.process",
    "casparian_tui.screens.inspect",
    "casparian_tui.screens.jobs",
)
"""What ``mode_screen`` imports on a first visit; ``warm_modes`` imports them beforehand."""


def import_mode_modules() -> None:
    for name in MODE_MODULES:
        importlib.import_module(name)


class CasparianApp(App[None]):
    """Home hub plus four modes; every blocking engine call runs in a thread worker."""

    TITLE = "Casparian Flow"
    CSS_PATH = [STYLES_DIR / "app.tcss", STYLES_DIR / "modes.tcss"]
    BINDINGS = bindings_for(GLOBAL)
    DEFAULT_MODE = "home"
    # The modes' modules (and the engine parts they use: DuckDB, the worker pool, ZeroMQ) load
    # when a mode is first built, after Home is on screen, not before the first paint.
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "home": HomeScreen,
        "discover": lambda: mode_screen("discover"),
        "process": lambda: mode_screen("process"),
        "inspect": lambda: mode_screen("inspect"),
        "jobs": lambda: mode_screen("jobs"),
    }
    AUTO_FOCUS = None  # each mode names its main widget; never the hidden chat input

    show_ai_sidebar: reactive[bool] = reactive(False)

    def __init__(
        self,
        workspace: Workspace,
        clock: Callable[[], float] = time.time,
        live_refresh: bool = True,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.clock = clock
        self.live_refresh = live_refresh
        """Periodic refreshes (Home figures, the Jobs list) run; snapshots turn them off."""
        self.service = EngineService(self, workspace)
        self.quit_asked = False  # a quit question is open (or was answered yes)
        self.quit_when_stopped = False  # close once the scan and runs have stopped
        self.modes_warming = False  # the modes' modules are imported (or being imported)
        self.css_generation_applied = -1
        """The CSS generation the stylesheet was last re-parsed for (see ModeScreen)."""
        # Set before the app runs, the stylesheet is parsed once, with the theme's variables
        # (set on mount, it was parsed twice: 0.4-0.8 s of start-up before the first paint).
        self.register_theme(CASPARIAN_THEME)
        self.theme = CASPARIAN_THEME.name

    async def on_mount(self) -> None:
        # Everything alive now (modules, the workspace, the stylesheet) lives as long as the app.
        # Moved out of the collector's sight, a full collection walks only what came later: on
        # this heap one took 80-170 ms, the longest freeze felt while work ran.
        gc.freeze()

    def warm_modes(self) -> None:
        """Import the modes' modules (Inspect's grid and SQL editor, Discover's preview, …) in a
        thread, once: Home calls it when its figures and "Needs you" are on screen, so start-up
        is not slowed and a first visit builds its screen without importing first."""
        if not self.modes_warming:
            self.modes_warming = True
            self.run_worker(
                import_mode_modules, thread=True, group="warm-modes", exit_on_error=False
            )

    def refresh_css(self, animate: bool = True) -> None:
        super().refresh_css(animate)
        self.css_generation_applied = self._css_update_count

    # --- global actions -----------------------------------------------------------------------
    def action_open_mode(self, mode: str) -> None:
        """Switch to a mode (Home included); switching to the current mode does nothing."""
        if mode != self.current_mode:
            self.switch_mode(mode)

    async def action_back(self, quit_at_home: bool = False) -> None:
        """Esc / q: one level back on the mode shown (dialogs bind their own keys); while an AI
        answer is being written, Esc stops it first."""
        from .widgets.ai_sidebar import AISidebar

        if isinstance(self.screen, ModeScreen):
            if not quit_at_home and await self.screen.query_one(AISidebar).stop_answer():
                return
            self.screen.go_back(quit_at_home)

    async def action_quit(self) -> None:
        """Quit; while a scan or run is under way, ask first. Quitting stops the work cleanly
        (a run's running jobs finish or are requeued) and the app closes once it has stopped;
        a second Ctrl+c while asked, or while stopping, quits at once (the work is still told
        to stop). While an AI answer is being written, Ctrl+c stops the answer instead."""
        from .widgets.ai_sidebar import AISidebar

        for sidebar in self.screen.query(AISidebar):
            if await sidebar.stop_answer():
                return
        busy = self.service.busy_text()
        if not busy or self.quit_asked:
            self.quit_asked = True
            self.exit()
            return
        self.quit_asked = True

        def answered(stop: bool | None) -> None:
            if not stop:
                self.quit_asked = False
                return
            self.quit_when_stopped = True
            self.service.cancel_all()
            self.notify("stopping the work under way; the app closes once it has stopped")
            self.exit_if_stopped()

        question = f"{busy}. Stop it and quit?"
        self.push_screen(ConfirmDialog(question, "y stops it and quits · n or Esc keeps working"),
                         answered)  # fmt: skip

    def exit_if_stopped(self) -> None:
        if self.quit_when_stopped and not self.service.busy_text():
            self.exit()

    def action_toggle_ai_sidebar(self) -> None:
        self.show_ai_sidebar = not self.show_ai_sidebar

    def action_show_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.current_mode))

    # --- command palette, generated from the registry ---------------------------------------
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        mode = self.current_mode
        for spec in REGISTRY:
            if not spec.palette or spec.scope not in (GLOBAL, mode):
                continue
            target = self if spec.scope == GLOBAL else screen
            yield SystemCommand(
                f"{spec.label}",
                spec.palette_help,
                partial(self.run_action, spec.action, target),
            )
        yield SystemCommand("Theme", "Change the colour theme", self.action_change_theme)

    # --- long-lived work reported by service workers ----------------------------------------
    def on_scan_finished(self, message: ScanFinished) -> None:
        self.service.scan_finished(message)
        if message.error:
            self.show_error(f"scan of {message.root} failed: {message.error}")
        self.exit_if_stopped()

    def on_run_progressed(self, message: RunProgressed) -> None:
        self.service.run_progressed(message)

    def on_run_stopping(self, message: RunStopping) -> None:
        self.service.run_stopping(message)

    def on_run_finished(self, message: RunFinished) -> None:
        self.service.run_finished(message)
        if message.error:
            self.show_error(f"processing {message.parser_name} failed: {message.error}")
        self.exit_if_stopped()

    def on_unmount(self) -> None:
        """Closing the app stops scans and runs, so no engine thread outlives it, and hands the
        heap frozen at start-up back to the collector (a process may open the app again)."""
        self.service.cancel_all()
        gc.unfreeze()

    # --- the one place failed workers become visible ----------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every screen forwards its workers' state here (the message does not bubble)."""
        if event.state != WorkerState.ERROR:
            return
        worker = event.worker
        text = f"{worker.group or worker.name}: {describe(worker.error)}"
        node = worker.node
        owner = node if isinstance(node, ModeScreen) else getattr(node, "screen", None)
        self.show_error(text, owner if isinstance(owner, ModeScreen) else None)

    def show_error(self, text: str, owner: ModeScreen | None = None) -> None:
        """Show ``text`` as a red inline error on its mode; a toast when that mode is not shown."""
        screen = owner or self.screen
        if isinstance(screen, ModeScreen):
            screen.show_error(text)
        if screen is not self.screen or not isinstance(screen, ModeScreen):
            self.notify(text, severity="error", timeout=8, markup=False)

    @property
    def mode_names(self) -> tuple[str, ...]:
        return ("home", *MODE_NAMES)
