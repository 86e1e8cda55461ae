"""Pilot tests of leaving: Esc and q one level back, Ctrl+c asking before it stops a run, and a
success clearing the error it makes stale."""

from __future__ import annotations

import contextlib
from pathlib import Path

from textual.worker import WorkerCancelled

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.dialogs import ConfirmDialog
from casparian_tui.screens.inspect import InspectScreen

from .conftest import settle

SIZE = (120, 36)


async def test_ctrl_c_during_a_run_asks_and_yes_stops_the_run_then_quits(
    registered: Workspace,
) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+p")
        await settle(app, pilot)
        await pilot.press("r", "ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        question = str(app.screen.query_one("#confirm-question").render())
        assert question == "a run of invoices is under way. Stop it and quit?"
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and not isinstance(app.screen, ConfirmDialog)
        assert app.service.runs["invoices"].running or app.service.runs["invoices"].outcome
        await pilot.press("ctrl+c")
        await pilot.pause()
        if isinstance(app.screen, ConfirmDialog):  # the run may have ended meanwhile
            await pilot.press("y")
        for worker in list(app.workers):  # closing cancels the screens' own loads
            with contextlib.suppress(WorkerCancelled):
                await worker.wait()
        await pilot.pause()
        assert not app.is_running
    state = app.service.runs["invoices"]
    assert not state.running  # the run ended (stopped or done) before the app closed
    assert [job.status for job in registered.jobs.list(status="running")] == []


async def test_ctrl_c_with_nothing_running_quits_at_once(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+j", "ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_escape_steps_back_from_quarantine_to_the_tables_then_home(
    workspace: Workspace,
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+i")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        await pilot.press("Q")
        await settle(app, pilot)
        assert screen.quarantine_mode
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.current_mode == "inspect" and not screen.quarantine_mode
        screen.query_one("#stats").focus()
        await pilot.press("escape")  # the table's detail → the table list
        await pilot.pause()
        assert app.current_mode == "inspect" and screen.focused is not None
        assert screen.focused.id == "tables-list"
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "home"


async def test_a_good_export_clears_the_failed_exports_error(
    workspace: Workspace, tmp_path: Path
) -> None:
    from tests.tui.test_inspect import open_inspect, type_export_path, write_output

    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await type_export_path(pilot, tmp_path / "missing" / "x.csv")
        await settle(app, pilot)
        assert screen.error_text.startswith("✗ export: ")
        await type_export_path(pilot, tmp_path / "x.csv")
        await settle(app, pilot)
        assert (tmp_path / "x.csv").exists()
        assert screen.error_text == ""
