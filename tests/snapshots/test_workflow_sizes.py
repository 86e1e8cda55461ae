"""The workflow's dialogs at 80x24 and at 120x36 with fixed data: the audit view, Process's
dev-run, register and backfill dialogs and the quarantine replay preview."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from casparian_engine.workspace import Workspace
from tests.snapshots.test_snapshots import settle, snapshot_app, text_of

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC for the test (times on screen do not follow the machine)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@SIZES
def test_audit_view_at(  # type: ignore[no-untyped-def]
    snap_compare, fixed_workspace: Workspace, utc: None, size: tuple[int, int]
) -> None:
    rows = [
        (1_780_000_000.0 + 60 * number, "ann" if number % 3 else "bob", action, subject)
        for number, (action, subject) in enumerate(
            [("parser.registered", "invoices@1.0.0"), ("contract.approve", "invoices")]
            + [("files.tagged", f"invoices/inv{n}.csv") for n in range(260)]
        )
    ]
    fixed_workspace.store.db.executemany(
        "INSERT INTO cf_audit (at, os_user, action, subject, details) VALUES (?, ?, ?, ?, '{}')",
        rows,
    )

    async def open_audit(pilot: Pilot[None]) -> None:
        await pilot.press("alt+j")
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot, lambda: "of 262 entries" in text_of(pilot.app.screen, "#audit-status"))

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=size, run_before=open_audit)


async def open_process_on_invoices(pilot: Pilot[None]) -> None:
    from textual.widgets import DataTable

    await pilot.press("alt+p")
    await settle(pilot, lambda: pilot.app.screen.__class__.__name__ == "ProcessScreen")
    screen = pilot.app.screen

    def parser_listed() -> bool:
        return screen.query_one("#parsers-table", DataTable).row_count == 1 and text_of(
            screen, "#parser-files-title"
        ).startswith("invoices matches")

    await settle(pilot, parser_listed)


@pytest.fixture
def invoices_registered(fixed_workspace: Workspace, fixed_data: Path) -> Workspace:
    from tests.engine.registration_support import make_parser

    fixed_workspace.parsers.register(make_parser(fixed_data / "parser"))
    fixed_workspace.files.scan(fixed_data)
    return fixed_workspace


@SIZES
def test_backfill_options_at(  # type: ignore[no-untyped-def]
    snap_compare, invoices_registered: Workspace, size: tuple[int, int]
) -> None:
    async def fill_options(pilot: Pilot[None]) -> None:
        await open_process_on_invoices(pilot)
        await pilot.press("b", *"2", "tab", "space")
        await settle(pilot)

    app = snapshot_app(invoices_registered)
    assert snap_compare(app, terminal_size=size, run_before=fill_options)


@SIZES
def test_backfill_plan_at(  # type: ignore[no-untyped-def]
    snap_compare, invoices_registered: Workspace, size: tuple[int, int]
) -> None:
    async def show_plan(pilot: Pilot[None]) -> None:
        await open_process_on_invoices(pilot)
        await pilot.press("b", *"2", "tab", "space", "enter")
        await settle(pilot, lambda: pilot.app.screen.__class__.__name__ == "ReviewDialog")

    app = snapshot_app(invoices_registered)
    assert snap_compare(app, terminal_size=size, run_before=show_plan)


@SIZES
def test_replay_preview_at(  # type: ignore[no-untyped-def]
    snap_compare, fixed_workspace: Workspace, fixed_data: Path, size: tuple[int, int]
) -> None:
    from casparian_engine.contracts import SchemaContract
    from tests.tui.test_quarantine import METERS, quarantine_file

    quarantine_file(fixed_workspace, fixed_data / "meters.csv", 4)
    fixed_workspace.contracts.approve(METERS)
    relaxed = METERS.to_dict()
    relaxed["columns"] = [
        {**column, "max": 1000} if column["name"] == "reading" else column
        for column in relaxed["columns"]
    ]
    fixed_workspace.contracts.approve(SchemaContract.from_dict(relaxed))

    async def show_preview(pilot: Pilot[None]) -> None:
        await pilot.press("alt+i")
        await settle(pilot, lambda: pilot.app.screen.__class__.__name__ == "InspectScreen")
        screen = pilot.app.screen
        await settle(pilot, lambda: text_of(screen, "#inspect-status").startswith("No output"))
        await pilot.press("Q")
        await settle(pilot, lambda: text_of(screen, "#inspect-status").startswith("quarantine"))
        await pilot.press("R")
        await settle(pilot, lambda: pilot.app.screen.__class__.__name__ == "ChoiceDialog")
        await pilot.press("a")
        await settle(pilot, lambda: pilot.app.screen.__class__.__name__ == "ReviewDialog")

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=size, run_before=show_preview)


@SIZES
def test_register_refused_at(  # type: ignore[no-untyped-def]
    snap_compare, fixed_workspace: Workspace, fixed_data: Path, size: tuple[int, int]
) -> None:
    from tests.engine.registration_support import make_parser

    folder = make_parser(fixed_data / "parser", body="import urllib.request")

    async def show_register(pilot: Pilot[None]) -> None:
        await pilot.press("alt+p")
        await settle(pilot, lambda: pilot.app.screen.__class__.__name__ == "ProcessScreen")
        await pilot.press("n", *str(folder), "enter")
        await settle(pilot, lambda: pilot.app.screen.__class__.__name__ == "RegisterDialog")

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=size, run_before=show_register)


@SIZES
def test_dev_run_options_at(  # type: ignore[no-untyped-def]
    snap_compare, invoices_registered: Workspace, size: tuple[int, int]
) -> None:
    async def fill_options(pilot: Pilot[None]) -> None:
        await open_process_on_invoices(pilot)
        await pilot.press("d", *"sqlite:///tmp/rows.sqlite", "tab", "space")
        await settle(pilot)

    app = snapshot_app(invoices_registered)
    assert snap_compare(app, terminal_size=size, run_before=fill_options)


@SIZES
def test_dev_run_network_question_at(  # type: ignore[no-untyped-def]
    snap_compare, invoices_registered: Workspace, size: tuple[int, int], monkeypatch
) -> None:
    monkeypatch.setattr("casparian_engine.store.audit.os_user", lambda: "ann")

    async def ask_network(pilot: Pilot[None]) -> None:
        await open_process_on_invoices(pilot)
        await pilot.press("d", "tab", "tab", "tab", "space", "enter")
        await settle(pilot, lambda: pilot.app.screen.__class__.__name__ == "ReviewDialog")

    app = snapshot_app(invoices_registered)
    assert snap_compare(app, terminal_size=size, run_before=ask_network)
