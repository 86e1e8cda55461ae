"""Pilot tests of Inspect: tables, SUMMARIZE stats, histogram, Arrow-backed row pages, filter
(including a bad predicate), export, clicks and the mouse wheel."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from textual.pilot import Pilot
from textual.widgets import DataTable
from textual_fastdatatable import DataTable as ArrowTable

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.inspect import InspectScreen

from .conftest import scroll_wheel

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
        headers = [str(c.label) for c in screen.query_one("#stats", DataTable).columns.values()]
        assert headers[3] == "≈ distinct"  # SUMMARIZE's approx_unique is an estimate
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
        assert screen.error_text.startswith(
            ("✗ rows: filter", "✗ stats: filter")
        )  # no worker names
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


def write_second_output(workspace: Workspace) -> None:
    folder = workspace.config.output_dir / "meters" / "readings"
    folder.mkdir(parents=True)
    table = pa.table({"meter": pa.array([f"m{i % 3}" for i in range(30)])})
    pq.write_table(table, folder / "part-0.parquet")


async def test_clicks_open_a_table_and_a_column_and_the_wheel_scrolls_rows(
    workspace: Workspace,
) -> None:
    write_output(workspace)
    write_second_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        assert [t.name for t in screen.tables] == ["lines", "readings"]
        assert screen.table_name == "lines"
        await pilot.click("#tables-list", offset=(3, 2))  # the header is line 0
        await settle(app, pilot)
        assert screen.query_one("#tables-list", DataTable).has_focus
        assert screen.table_name == "readings" and screen.stat_columns == ["meter"]
        assert str(screen.query_one("#inspect-status").render()) == "readings: rows 1–30 of 30"
        await pilot.click("#tables-list", offset=(3, 1))
        await settle(app, pilot)
        assert screen.table_name == "lines"
        stats = screen.query_one("#stats", DataTable)
        await pilot.click("#stats", offset=(3, 3))  # round border, header, then the rows
        await settle(app, pilot)
        assert stats.has_focus and stats.cursor_row == 1
        histogram = str(screen.query_one("#histogram").render()).splitlines()
        assert histogram[0] == "vendor"
        rows = screen.query_one("#rows", ArrowTable)
        assert rows.scroll_y == 0
        await scroll_wheel(pilot, "#rows")
        assert rows.scroll_y > 0
        assert str(screen.query_one("#inspect-status").render()) == "lines: rows 1–100 of 250"


async def test_filter_on_the_second_table_keeps_that_table(workspace: Workspace) -> None:
    """The highlighted table is state: closing the filter dialog must not jump back to the first."""
    write_output(workspace)
    write_second_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await pilot.press("down")
        await settle(app, pilot)
        assert screen.table_name == "readings"
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"meter = 'm1'", "enter")
        await settle(app, pilot)
        assert screen.table_name == "readings"
        assert screen.query_one("#tables-list", DataTable).cursor_row == 1
        status = str(screen.query_one("#inspect-status").render())
        assert status == "readings where meter = 'm1': rows 1–10 of 10"
        assert screen.stat_columns == ["meter"]
        assert screen.error_text == ""
        histogram = str(screen.query_one("#histogram").render()).splitlines()
        assert histogram[0] == "meter"


async def test_exporting_one_row_says_row(workspace: Workspace, tmp_path: Path) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    target = tmp_path / "one.parquet"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        screen.predicate = "amount = 7"
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+u", *str(target), "enter")
        await settle(app, pilot)
        assert pq.read_table(target).num_rows == 1
        assert str(screen.query_one("#inspect-status").render()) == f"exported 1 row to {target}"


async def test_export_defaults_to_the_exports_folder_of_the_home(workspace: Workspace) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    target = workspace.home / "exports" / "lines.parquet"
    assert not target.parent.exists()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("enter")  # the default destination as offered
        await settle(app, pilot)
        assert pq.read_table(target).num_rows == 250
        assert str(screen.query_one("#inspect-status").render()) == f"exported 250 rows to {target}"


async def test_export_to_a_missing_folder_is_refused_with_a_human_prefix(
    workspace: Workspace, tmp_path: Path
) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    target = tmp_path / "nowhere" / "lines.parquet"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+u", *str(target), "enter")
        await settle(app, pilot)
        assert screen.error_text == f"✗ export: cannot export to {target}: folder does not exist"
        assert not target.parent.exists()
