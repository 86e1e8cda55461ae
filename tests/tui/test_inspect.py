"""Pilot tests of Inspect: tables, SUMMARIZE stats, histogram, Arrow-backed row pages, filter
(including a bad predicate), export, clicks and the mouse wheel."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from textual.pilot import Pilot
from textual.widgets import DataTable

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.inspect import InspectScreen
from casparian_tui.widgets.result_grid import WINDOW_ROWS, ResultGrid

from .conftest import scroll_wheel, settle

SIZE = (120, 36)


async def type_export_path(pilot: Pilot[None], target: Path) -> None:
    """Press e and type ``target`` into the export dialog (nothing waits for the export)."""
    await pilot.press("e")
    await pilot.pause()
    await pilot.press("ctrl+u", *str(target), "enter")


async def apply_filter(app: CasparianApp, pilot: Pilot[None], predicate: str) -> None:
    """Type a row filter as a person does (f, the predicate, Enter) and wait for its rows."""
    await pilot.press("f")
    await pilot.pause()
    await pilot.press("ctrl+u", *predicate, "enter")
    await settle(app, pilot)


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
        assert status == "lines: rows 1–14 of 250"  # the rows the grid has room for
        headers = [str(c.label) for c in screen.query_one("#stats", DataTable).columns.values()]
        assert headers[3] == "≈ distinct"  # SUMMARIZE's approx_unique is an estimate
        rows = screen.query_one("#rows", ResultGrid)
        assert rows.row_count == 250  # the whole table, read as it scrolls
        rows.focus()
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert str(screen.query_one("#inspect-status").render()) == "lines: rows 15–28 of 250"
        assert rows.cursor_row == 14 and rows.render_line(1).text.split()[0] == "14"
        screen.query_one("#stats").focus()
        await pilot.press("down")
        await settle(app, pilot)
        histogram = str(screen.query_one("#histogram").render())
        header = "vendor  VARCHAR · min acme · max zeta · ≈ 2 distinct · 0.00% null"
        assert histogram.splitlines()[0] == header
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
        assert status == "lines where vendor = 'zeta': rows 1–14 of 50"
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("ctrl+u", *"nope > 1", "enter")
        await settle(app, pilot)
        assert screen.error_text.startswith(
            "✗ filter not applied (the view keeps \"vendor = 'zeta'\"): "
            "filter 'nope > 1' on lines: "
        )
        assert app.is_running
        assert screen.predicate == "vendor = 'zeta'"  # the refused filter never became the view's
        await pilot.press("]")  # paging and export still use the filter that works
        await settle(app, pilot)
        status = str(screen.query_one("#inspect-status").render())
        assert status == "lines where vendor = 'zeta': rows 14–26 of 50"  # the error takes a line


async def test_export_writes_the_filtered_view(workspace: Workspace, tmp_path: Path) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    target = tmp_path / "zeta.csv"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"vendor = 'zeta'", "enter")
        await settle(app, pilot)
        await type_export_path(pilot, target)
        await settle(app, pilot)
        assert target.read_text().count("\n") == 51
        status = str(screen.query_one("#inspect-status").render())
        assert status == (
            f"lines where vendor = 'zeta': rows 1–14 of 50 · exported 50 rows to {target}"
        )


def write_second_output(workspace: Workspace) -> None:
    folder = workspace.config.output_dir / "meters" / "readings"
    folder.mkdir(parents=True)
    table = pa.table({"meter": pa.array([f"m{i % 3}" for i in range(30)])})
    pq.write_table(table, folder / "part-0.parquet")


async def test_leaving_quarantine_shows_the_filtered_table_as_export_writes_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A filter, then the quarantine and back: the status line names the table's filtered rows
    (it kept the quarantine's 'rows 1–0 of 0'), the filter line shows the filter, and export
    writes exactly those rows."""
    write_output(workspace)
    app = CasparianApp(workspace)
    target = tmp_path / "zeta.csv"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        assert (
            str(screen.query_one("#inspect-filter").render())
            == "no filter · f filters the rows · s writes SQL"
        )
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"vendor = 'zeta'", "enter")
        await settle(app, pilot)
        await pilot.press("Q")
        await settle(app, pilot)
        assert str(screen.query_one("#inspect-status").render()).startswith("quarantine: rows")
        await pilot.press("q")
        await settle(app, pilot)
        assert app.current_mode == "inspect" and not screen.quarantine_mode
        status = str(screen.query_one("#inspect-status").render())
        assert status == "lines where vendor = 'zeta': rows 1–14 of 50"
        shown = str(screen.query_one("#inspect-filter").render())
        assert shown.startswith("filter vendor = 'zeta'")
        assert screen.query_one("#rows", ResultGrid).row_count == 50
        await type_export_path(pilot, target)
        await settle(app, pilot)
        assert target.read_text().count("\n") == 51


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
        assert str(screen.query_one("#inspect-status").render()) == "readings: rows 1–14 of 30"
        await pilot.click("#tables-list", offset=(3, 1))
        await settle(app, pilot)
        assert screen.table_name == "lines"
        stats = screen.query_one("#stats", DataTable)
        await pilot.click("#stats", offset=(3, 3))  # round border, header, then the rows
        await settle(app, pilot)
        assert stats.has_focus and stats.cursor_row == 1
        histogram = str(screen.query_one("#histogram").render()).splitlines()
        assert histogram[0].startswith("vendor  VARCHAR · min acme")
        rows = screen.query_one("#rows", ResultGrid)
        assert rows.scroll_y == 0
        await scroll_wheel(pilot, "#rows")
        assert rows.scroll_y > 0
        first = int(rows.scroll_y) + 1
        status = str(screen.query_one("#inspect-status").render())
        assert status == f"lines: rows {first}–{first + 13} of 250"


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
        assert histogram[0] == "meter  VARCHAR · min m1 · max m1 · ≈ 1 distinct · 0.00% null"


async def test_exporting_one_row_says_row(workspace: Workspace, tmp_path: Path) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    target = tmp_path / "one.parquet"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await apply_filter(app, pilot, "amount = 7")
        await type_export_path(pilot, target)
        await settle(app, pilot)
        assert pq.read_table(target).num_rows == 1
        assert str(screen.query_one("#inspect-status").render()).endswith(
            f" · exported 1 row to {target}"
        )


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
        assert str(screen.query_one("#inspect-status").render()).endswith(
            f" · exported 250 rows to {target}"
        )


async def test_export_to_a_missing_folder_is_refused_with_a_human_prefix(
    workspace: Workspace, tmp_path: Path
) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    target = tmp_path / "nowhere" / "lines.parquet"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await type_export_path(pilot, target)
        await settle(app, pilot)
        assert screen.error_text == f"✗ export: cannot export to {target}: folder does not exist"
        assert not target.parent.exists()


def write_bracketed_output(workspace: Workspace) -> None:
    """Values and a column name that look like console markup but are data."""
    folder = workspace.config.output_dir / "files" / "names"
    folder.mkdir(parents=True)
    names = ["x[=<y].csv", "[b]bold.csv", "[/]", "[@click=app.quit]q"]
    table = pa.table(
        {
            "description": pa.array([names[i % 4] for i in range(8)]),
            "[i]tag": pa.array(["[red]r"] * 8),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")


async def test_markup_in_values_names_and_filters_is_shown_as_written(
    workspace: Workspace,
) -> None:
    write_bracketed_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        assert screen.stat_columns == ["description", "[i]tag"]
        rows = screen.query_one("#rows", ResultGrid)
        assert rows.render_line(0).text.split() == ["description", "[i]tag"]
        assert rows.render_line(2).text.split() == ["[b]bold.csv", "[red]r"]
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"description <> '[/]'", "enter")
        await settle(app, pilot)
        status = str(screen.query_one("#inspect-status").render())
        assert status == "names where description <> '[/]': rows 1–6 of 6"
        histogram = str(screen.query_one("#histogram").render()).splitlines()
        assert [line.split(" █")[0].strip() for line in histogram[1:]] == [
            "[@click=app.quit]q",
            "[b]bold.csv",
            "x[=<y].csv",
        ]
        screen.query_one("#stats").focus()
        await pilot.press("down")
        await settle(app, pilot)
        histogram = str(screen.query_one("#histogram").render()).splitlines()
        assert (
            histogram[0] == "[i]tag  VARCHAR · min [red]r · max [red]r · ≈ 1 distinct · 0.00% null"
        )
        assert histogram[1].split(" █")[0].strip() == "[red]r"
        assert app.is_running and screen.error_text == ""


def write_long_output(workspace: Workspace, rows: int = 450) -> None:
    folder = workspace.config.output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"n": pa.array(range(rows))}), folder / "part-0.parquet")


async def test_rows_far_down_are_read_as_the_grid_scrolls_there(workspace: Workspace) -> None:
    """No 100-row pages: the grid holds the whole count, ] moves a screen, and rows past the
    first window are read when they come into view ('…' is never left on screen)."""
    write_long_output(workspace, rows=5_000)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        rows = screen.query_one("#rows", ResultGrid)
        assert rows.row_count == 5_000 and list(rows.windowed.windows) == [0]
        rows.focus()
        await pilot.press(*["right_square_bracket"] * 20)  # 20 screens of 14 rows: row 281
        await settle(app, pilot)
        assert str(screen.query_one("#inspect-status").render()) == "lines: rows 281–294 of 5,000"
        assert rows.render_line(1).text.split() == ["280"]
        assert 280 // WINDOW_ROWS in rows.windowed.windows
        await pilot.press("end")  # the last row: its window is read, the ones between are not
        await settle(app, pilot)
        assert rows.cursor_row == 4_999
        assert str(screen.query_one("#inspect-status").render()) == (
            "lines: rows 4,987–5,000 of 5,000"
        )
        assert rows.render_line(14).text.split() == ["4999"]
        assert 10 not in rows.windowed.windows
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert rows.cursor_row == 4_985


def write_typed_output(workspace: Workspace) -> None:
    import datetime as dt
    from decimal import Decimal

    folder = workspace.config.output_dir / "meters" / "readings"
    folder.mkdir(parents=True)
    stamps = [dt.datetime(2023, 1, 1) + dt.timedelta(hours=9 * i) for i in range(120)]
    table = pa.table(
        {
            "read_at": pa.array(stamps, pa.timestamp("us")),
            "price": pa.array([Decimal("12.34")] * 120, pa.decimal128(14, 2)),
            "units": pa.array(range(1, 121), pa.int32()),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")


async def test_stats_cut_with_an_ellipsis_and_histograms_bin_times_and_integers(
    workspace: Workspace,
) -> None:
    write_typed_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        tables = screen.query_one("#tables-list", DataTable)
        assert [str(c.label) for c in tables.columns.values()] == ["table", "rows", "files"]
        assert [str(c) for c in tables.get_row_at(0)] == ["readings", "120", "–"]  # no lineage
        stats = screen.query_one("#stats", DataTable)
        first = stats.render_line(1).text  # the header is line 0
        assert first.split()[:2] == ["read_at", "TIMESTAMP"]
        assert "2023-01-01 …" in first  # the minimum does not fit its column
        assert "2023-02-14 …" in first
        histogram = str(screen.query_one("#histogram").render()).splitlines()
        assert histogram[0] == (
            "read_at  TIMESTAMP · min 2023-01-01 00:00:00 · max 2023-02-14 15:00:00"
            " · ≈ 120 distinct · 0.00% null"
        )
        assert histogram[1].split(" █")[0].strip().startswith("[2023-01-01")
        assert all(line.lstrip().startswith("(2023-") for line in histogram[2:])
        assert "DECIMAL(14,2)" in stats.render_line(2).text
        stats.focus()
        await pilot.press("down", "down")
        await settle(app, pilot)
        histogram = str(screen.query_one("#histogram").render()).splitlines()
        labels = [line.split(" █")[0].strip() for line in histogram[1:]]
        assert labels == [f"{lo} – {lo + 9}" for lo in range(1, 120, 10)]


async def test_export_asks_before_replacing_a_file(workspace: Workspace, tmp_path: Path) -> None:
    from casparian_tui.screens.dialogs import ConfirmDialog
    from casparian_tui.screens.export_dialog import ExportDialog

    write_output(workspace)
    target = tmp_path / "lines.csv"
    target.write_text("keep me\n")
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await type_export_path(pilot, target)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        question = str(app.screen.query_one("#confirm-question").render())
        assert question == f"{target} exists. Overwrite it?"
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, ExportDialog)
        problem = str(app.screen.query_one("#prompt-problem").render())
        assert problem == f"{target} exists: type another name, or Enter to be asked again"
        assert target.read_text() == "keep me\n"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        assert target.read_text().count("\n") == 251
        assert str(screen.query_one("#inspect-status").render()).endswith(
            f" · exported 250 rows to {target}"
        )


async def test_export_with_an_empty_path_says_what_to_type(workspace: Workspace) -> None:
    from casparian_tui.screens.export_dialog import EMPTY_PATH, ExportDialog

    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+u", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ExportDialog)
        problem = str(app.screen.query_one("#prompt-problem").render())
        assert problem == EMPTY_PATH
        assert problem == "type a file name ending in .parquet or .csv (Esc cancels)"
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen and screen.error_text == ""
        assert not (workspace.home / "exports").exists()


async def test_export_to_a_bracketed_path_is_said_as_written(
    workspace: Workspace, tmp_path: Path
) -> None:
    write_output(workspace)
    (tmp_path / "[").mkdir()
    target = tmp_path / "[" / "].csv"  # the path ends '[/].csv': a closing tag to a markup parser
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await type_export_path(pilot, target)
        await settle(app, pilot)
        assert app.is_running and target.read_text().count("\n") == 251
        assert str(screen.query_one("#inspect-status").render()).endswith(
            f" · exported 250 rows to {target}"
        )
        (toast,) = app._notifications
        assert toast.message == f"Exported 250 rows to {target}"
        assert not toast.markup  # a toast with markup would raise on the '[/]' when drawn


async def test_the_files_column_counts_source_files_not_parts(workspace: Workspace) -> None:
    folder = workspace.config.output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    for index, sources in enumerate((["a", "a", "b"], ["b", "c"], ["c", "d"])):
        part = {"amount": pa.array([1.0] * len(sources)), "_cf_source_hash": pa.array(sources)}
        pq.write_table(pa.table(part), folder / f"part-{index}.parquet")
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        tables = screen.query_one("#tables-list", DataTable)
        assert [str(c) for c in tables.get_row_at(0)] == ["lines", "7", "4"]  # 3 parts, 4 files


async def test_a_bad_filter_with_brackets_is_quoted_in_the_error_as_typed(
    workspace: Workspace,
) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"nope = '[/]'", "enter")
        await settle(app, pilot)
        assert app.is_running
        assert screen.error_text.startswith("✗ filter not applied (no filter applied): ")
        assert screen.predicate == ""
        assert screen.error_text.endswith(
            'filter "nope = \'[/]\'" on lines: Binder Error: Referenced column "nope" not found'
            " in FROM clause!"
        )


async def test_the_stats_box_shows_four_rows_at_80x24(workspace: Workspace) -> None:
    """At 80x24 the histogram leaves the stats box room for four rows (it once showed one)."""
    folder = workspace.config.output_dir / "wide" / "metrics"
    folder.mkdir(parents=True)
    columns = {f"c{n}": pa.array([float(i * (n + 1)) for i in range(50)]) for n in range(8)}
    pq.write_table(pa.table(columns), folder / "part-0.parquet")
    app = CasparianApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_inspect(app, pilot)
        assert screen.table_name == "metrics"
        stats = screen.query_one("#stats", DataTable)
        assert stats.row_count == 8
        visible_rows = stats.scrollable_content_region.height - stats.header_height
        assert visible_rows >= 4
        histogram = screen.query_one("#histogram")
        assert histogram.region.height >= 4  # its header and a bar beside the stats
