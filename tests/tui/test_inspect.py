"""Pilot tests of Inspect: tables, SUMMARIZE stats, histogram, Arrow-backed row pages, filter
(including a bad predicate) and export."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from textual.pilot import Pilot
from textual_fastdatatable import DataTable as ArrowTable

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.inspect import InspectScreen

SIZE = (120, 36)


async def settle(app: CasparianApp, pilot: Pilot[None]) -> None:
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()


def write_output(workspace: Workspace) -> None:
    folder = workspace.config.output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    table = pa.table(
        {
            "amount": pa.array([float(i) for i in range(250)]),
            "vendor": pa.array(["acme" if i % 5 else "zeta" for i in range(250)]),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")


async def open_inspect(app: CasparianApp, pilot: Pilot[None]) -> InspectScreen:
    await pilot.press("alt+i")
    await settle(app, pilot)
    assert isinstance(app.screen, InspectScreen)
    return app.screen


async def test_table_stats_histogram_and_pages(workspace: Workspace) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        assert screen.table_name == "lines"
        assert screen.stat_columns == ["amount", "vendor"]
        status = str(screen.query_one("#inspect-status").render())
        assert status == "lines: rows 1–100 of 250"
        rows = screen.query_one("#rows", ArrowTable)
        assert rows.row_count == 100
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert str(screen.query_one("#inspect-status").render()) == "lines: rows 101–200 of 250"
        screen.query_one("#stats").focus()
        await pilot.press("down")
        await settle(app, pilot)
        histogram = str(screen.query_one("#histogram").render())
        assert histogram.splitlines()[0] == "vendor"
        assert histogram.splitlines()[1].endswith(" 200")


async def test_filter_and_bad_filter(workspace: Workspace) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"vendor = 'zeta'", "enter")
        await settle(app, pilot)
        status = str(screen.query_one("#inspect-status").render())
        assert status == "lines where vendor = 'zeta': rows 1–50 of 50"
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("ctrl+u", *"nope > 1", "enter")
        await settle(app, pilot)
        assert screen.error_text.startswith("✗ inspect-")
        assert "filter 'nope > 1' on lines: " in screen.error_text
        assert app.is_running


async def test_export_writes_the_filtered_view(workspace: Workspace, tmp_path: Path) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    target = tmp_path / "zeta.csv"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        screen.predicate = "vendor = 'zeta'"
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+u", *str(target), "enter")
        await settle(app, pilot)
        assert target.read_text().count("\n") == 51
        assert str(screen.query_one("#inspect-status").render()) == f"exported 50 rows to {target}"
