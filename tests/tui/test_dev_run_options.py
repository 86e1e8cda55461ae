"""Pilot tests of Process's dev run (d) with ``casparian run``'s options, over real guests:
what-if writes nothing and shows where rows would go, a sink receives the rows (an existing
output there is refused without force, as the CLI refuses it), a sink the app cannot use is
named under the field, and the network is given only after its own yes, audited as the person."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from casparian_engine.store.audit import os_user
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.dialogs import ReviewDialog
from casparian_tui.screens.parser_dialogs import DevRunDialog
from casparian_tui.screens.process import ProcessScreen
from casparian_tui.screens.workflow_options import DevRunOptionsDialog

from .test_process import open_process, settle


def text_of(widget: Static) -> str:
    return str(widget.render())


async def on_inv0(app: CasparianApp, pilot) -> ProcessScreen:  # type: ignore[no-untyped-def]
    """Process with the cursor on inv0.csv (one good row, one whose amount breaks the contract)."""
    screen = await open_process(app, pilot)
    assert isinstance(screen, ProcessScreen)
    names = [Path(p).name for p in screen.file_paths]
    await pilot.press("tab")
    screen.query_one("#parser-files", DataTable).move_cursor(row=names.index("inv0.csv"))
    await pilot.pause()
    return screen


async def dev_run_body(app: CasparianApp, pilot) -> list[str]:  # type: ignore[no-untyped-def]
    await settle(app, pilot)
    dialog = app.screen
    assert isinstance(dialog, DevRunDialog)
    return text_of(dialog.query_one("#dev-run-body", Static)).splitlines()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_whatif_writes_nothing_and_shows_targets_and_columns(
    registered: Workspace, size: tuple[int, int]
) -> None:
    scratch = registered.home / "dev-output" / "samples" / "invoices"
    app = CasparianApp(registered)
    async with app.run_test(size=size) as pilot:
        await on_inv0(app, pilot)
        await pilot.press("d")
        assert isinstance(app.screen, DevRunOptionsDialog)
        assert app.screen.query_one("#options-hint").region.bottom <= size[1]
        await pilot.press("tab", "space", "enter")  # what-if
        body = await dev_run_body(app, pilot)
        assert body[1:] == [
            "1 row would be written, 1 row would be quarantined",
            "what-if: nothing was written",
            "· invoices: 1 row would be written, 1 quarantined",
            f"    → {scratch / 'invoices'}",
            "    columns: id int64, amount string",
        ]
        assert text_of(app.screen.query_one("#review-hint", Static)) == (
            "nothing was written · Esc closes"
        )
        assert [p for p in scratch.rglob("*") if p.is_file()] == []
        assert registered.outputs.tables() == []


async def test_a_sink_gets_the_rows_and_an_existing_output_needs_force(
    registered: Workspace, tmp_path: Path
) -> None:
    database = tmp_path / "rows.sqlite"
    sink = f"sqlite://{database}"
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_inv0(app, pilot)
        await pilot.press("d", *sink, "enter")
        body = await dev_run_body(app, pilot)
        assert body[1:3] == ["1 row written, 1 row quarantined", f"rows went to {sink}"]
        assert text_of(app.screen.query_one("#review-hint", Static)) == (
            "rows went to the sink you chose, not the outputs · Esc closes"
        )
        with sqlite3.connect(database) as con:
            assert con.execute("SELECT id, amount FROM invoices").fetchall() == [(1, 2.5)]
        await pilot.press("escape", "d", *sink, "enter")  # again: the output exists there
        body = await dev_run_body(app, pilot)
        assert body[3:5] == [
            f"✗ OutputExistsError: output already exists: invoices ({database}#invoices); use "
            "--force to replace it",
            "  (tick force in d's options to replace it)",
        ]
        await pilot.press("escape", "d", *sink, "tab", "tab", "space", "enter")  # force
        body = await dev_run_body(app, pilot)
        assert body[1:3] == ["1 row written, 1 row quarantined", f"rows went to {sink}"]
        with sqlite3.connect(database) as con:
            assert con.execute("SELECT count(*) FROM invoices").fetchone() == (1,)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        (
            "stdout",
            "✗ sink: stdout prints rows to the terminal the app is drawing on; use "
            "`casparian run --sink stdout` from a shell",
        ),
        (
            "rows.sqlite",
            "✗ sink: 'rows.sqlite' is not a URI; use parquet://DIR, ipc://DIR, sqlite://FILE or "
            "duckdb://FILE",
        ),
        (
            "ftp://host/x",
            "✗ sink: 'ftp://host/x': unknown scheme 'ftp' (parquet, ipc, sqlite, duckdb)",
        ),
    ],
)
async def test_a_sink_the_app_cannot_use_is_named_and_the_text_kept(
    registered: Workspace, typed: str, problem: str
) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_inv0(app, pilot)
        await pilot.press("d", *typed, "enter")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, DevRunOptionsDialog)
        assert dialog.problem_text == problem
        assert dialog.query_one("#dev-sink", Input).value == typed
        assert screen.dev_run_cancel is None  # nothing started


async def test_the_network_is_given_only_after_its_own_yes_and_is_audited(
    registered: Workspace,
) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_inv0(app, pilot)
        await pilot.press("d", "tab", "tab", "tab", "space", "enter")
        await settle(app, pilot)
        question = app.screen
        assert isinstance(question, ReviewDialog)
        assert text_of(question.query_one("#review-title", Static)) == (
            "Give invoices this machine's network for this dev run?"
        )
        body = text_of(question.query_one("#review-body", Static))
        assert body.startswith(
            "With the network, the parser invoices can reach any address this machine can: the "
            "internet, your local network, and services on this machine"
        )
        assert body.endswith(
            f"recorded in the audit trail (guest.network_allowed) as {os_user()}. The next dev "
            "run has no network unless you tick the box again."
        )
        await pilot.press("enter")  # Enter is not a yes here
        assert app.screen is question
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen is screen and screen.dev_run_cancel is None
        assert [n.message for n in app._notifications] == ["Dev run of invoices not started"]
        assert registered.audit.entries(action="guest.network_allowed") == []
        await pilot.press("d")  # the box is not remembered
        await settle(app, pilot)
        assert not app.screen.query_one("#dev-network").value  # type: ignore[attr-defined]
        await pilot.press("tab", "tab", "tab", "space", "enter", "y")
        body_lines = await dev_run_body(app, pilot)
        assert body_lines[2] == (
            "⚠ the parser had this machine's network (recorded in the audit trail)"
        )
        (entry,) = registered.audit.entries(action="guest.network_allowed")
        assert (entry.os_user, entry.details) == (os_user(), {"mode": "dev"})
