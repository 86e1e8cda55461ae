"""What keeps the TUI's event loop free while work runs: no whole-stylesheet pass on a first mode
switch, a start-up heap the collector does not walk, and background work at a lower priority.
(The stall itself is measured by bench/tui.py, never asserted on time here.)"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from textual.color import Color
from textual.css.stylesheet import Stylesheet

from casparian_engine.runner.pool import _prepare_worker
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.scan_process import GO, ScanChild
from casparian_tui.services import BACKGROUND_NICENESS

SIZE = (120, 36)


@pytest.fixture
def reparses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every whole-stylesheet re-parse (what Textual does to restyle an app)."""
    calls: list[int] = []
    original = Stylesheet.reparse

    def counted(self: Stylesheet) -> None:
        calls.append(1)
        original(self)

    monkeypatch.setattr(Stylesheet, "reparse", counted)
    return calls


async def test_a_first_switch_to_each_mode_does_not_restyle_the_app(
    workspace: Workspace, reparses: list[int]
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = len(reparses)
        for key in ("alt+d", "alt+p", "alt+i", "alt+j", "escape"):
            await pilot.press(key)
            await pilot.pause()
        assert len(reparses) == before
        assert app.current_mode == "home"


async def test_every_mode_is_built_at_start_up_in_the_project_theme(
    workspace: Workspace, reparses: list[int]
) -> None:
    from casparian_tui.screens.base import ModeScreen
    from casparian_tui.theme import CASPARIAN_THEME

    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = len(reparses)
        for key in ("alt+d", "alt+p", "alt+i", "alt+j"):
            await pilot.press(key)
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ModeScreen) and screen.MODE == app.current_mode
            assert screen.styles.background == Color.parse(CASPARIAN_THEME.background or "")
        assert len(reparses) == before


async def test_a_theme_change_still_restyles_a_mode_built_before_it(
    workspace: Workspace, reparses: list[int]
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+d")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        app.theme = "textual-light"
        await pilot.pause()
        before = len(reparses)
        await pilot.press("alt+d")
        await pilot.pause()
        assert len(reparses) == before + 1  # the Discover screen was stale: restyled on showing
        assert app.screen.styles.background == Color.parse(app.current_theme.background or "")


async def test_the_start_up_heap_is_frozen_while_the_app_runs(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0  # closing the app hands it back to the collector


def test_pool_workers_start_at_the_requested_lower_priority() -> None:
    own = os.nice(0)
    shown = subprocess.run(
        [sys.executable, "-c", "import os; print(os.nice(0))"],
        preexec_fn=_prepare_worker(BACKGROUND_NICENESS),
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(shown.stdout) == min(19, own + BACKGROUND_NICENESS)


def test_the_scan_child_runs_at_the_requested_lower_priority(
    workspace: Workspace, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    child = ScanChild(workspace, str(tmp_path / "data"), BACKGROUND_NICENESS)
    try:
        niceness = psutil.Process(child.process.pid).nice()
        messages = []
        for message in child.messages():
            messages.append(message)
            if "progress" in message:
                child.answer(GO)
    finally:
        problem = child.finish()
    assert niceness == min(19, os.nice(0) + BACKGROUND_NICENESS)
    assert problem == ""
    assert messages[-1] == {"found": 1, "cancelled": False}
