"""Snapshots at 120×36 with fixed data: a fresh home at a fixed path, a fixed clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp

FIXED_HOME = Path("/tmp/casparian-snapshot-home")
SIZE = (120, 36)


@pytest.fixture
def fixed_workspace(monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    shutil.rmtree(FIXED_HOME, ignore_errors=True)
    for name in ("CASPARIAN_HOME", "CASPARIAN_AI_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    workspace = Workspace.open(FIXED_HOME)
    try:
        yield workspace
    finally:
        workspace.close()
        shutil.rmtree(FIXED_HOME, ignore_errors=True)


async def settle(pilot: Pilot[None]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_home(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    app = CasparianApp(fixed_workspace, clock=lambda: 0.0)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_home_with_ai_sidebar(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    app = CasparianApp(fixed_workspace, clock=lambda: 0.0)

    async def open_sidebar(pilot: Pilot[None]) -> None:
        await pilot.press("alt+a")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_sidebar)


def test_help(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    app = CasparianApp(fixed_workspace, clock=lambda: 0.0)

    async def open_help(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_help)
