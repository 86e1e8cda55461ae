"""Text that does not fit its column ends in '…' (never cut silently): Process parser names
and versions, Inspect table names and column stats."""

from __future__ import annotations

from textual.widgets import DataTable

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.process import ProcessScreen

from .conftest import settle


def shown_line(table: DataTable[object], y: int) -> str:
    """The characters one line of a table shows on screen."""
    return table.render_line(y).text


async def test_a_parser_name_too_long_for_its_column_ends_in_an_ellipsis(
    registered: Workspace,
) -> None:
    long_name = "legacy_account_statements"  # a catalog row is all the listing needs
    registered.store.parsers.insert(
        name=long_name,
        version="1.0.0",
        identity_hash=long_name,
        bundle=b"",
        bundle_sha256="",
        lockfile_hash="",
        source_path=None,
        tags=(long_name,),
        patterns=(),
        outputs={},
        contracts=[],
        gatekeeper={},
    )
    app = CasparianApp(registered)
    async with app.run_test(size=(64, 24)) as pilot:  # narrow: the name column is at its minimum
        await pilot.press("alt+p")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ProcessScreen)
        table = screen.query_one("#parsers-table", DataTable)
        lines = [shown_line(table, y) for y in (1, 2)]
        assert "invoices" in lines[0]  # the version and run columns gave way: it shows whole
        assert "…" in lines[1] and long_name not in lines[1]
        assert lines[1].split()[0].rstrip("…") and long_name.startswith(
            lines[1].split()[0].rstrip("…")
        )
