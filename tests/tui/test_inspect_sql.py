"""Pilot tests of Inspect's SQL editor and result grid: queries over the outputs and the
quarantine, completion, history across restarts, sort, copy, export of what is shown, a click on
a histogram bar, refused queries, and Esc one level at a time."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from textual.pilot import Pilot

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.inspect import InspectScreen
from casparian_tui.widgets.histogram import Histogram
from casparian_tui.widgets.result_grid import ResultGrid
from casparian_tui.widgets.sql_completion import CompletionList
from casparian_tui.widgets.sql_editor import SqlEditor

from .conftest import settle
from .test_inspect import open_inspect, write_output
from .test_quarantine import quarantine_file

SIZE = (120, 36)


def status(screen: InspectScreen) -> str:
    return str(screen.query_one("#inspect-status").render())


async def run_sql(app: CasparianApp, pilot: Pilot[None], sql: str) -> None:
    """s, the editor emptied, the query typed as a person does, Ctrl+j; wait for its rows."""
    await pilot.press("s")
    await pilot.pause()
    editor = app.screen.query_one(SqlEditor)
    editor.select_all()
    keys = ["enter" if char == "\n" else char for char in sql]  # Enter makes a new line
    await pilot.press("delete", *keys, "ctrl+j")
    await settle(app, pilot)


async def test_a_query_over_an_output_and_the_quarantine_fills_the_grid(
    workspace: Workspace, tmp_path: Path
) -> None:
    write_output(workspace)
    quarantine_file(workspace, tmp_path / "meters.csv", 4)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await run_sql(app, pilot, "SELECT vendor, count(*) AS n FROM lines GROUP BY 1 ORDER BY 1")
        grid = screen.query_one("#rows", ResultGrid)
        assert grid.windowed.columns == ["vendor", "n"]
        assert [grid.render_line(y).text.split() for y in (1, 2)] == [["acme", "200"],
                                                                      ["zeta", "50"]]  # fmt: skip
        assert status(screen) == "query: rows 1–2 of 2"
        shown = str(screen.query_one("#inspect-filter").render())
        assert shown.startswith("SQL SELECT vendor, count(*) AS n FROM lines GROUP BY 1 ORDER BY 1")
        await run_sql(app, pilot, "SELECT source_row, row_values->>'reading' AS r\nFROM quarantine")
        grid = screen.query_one("#rows", ResultGrid)
        assert [grid.render_line(y).text.split() for y in (1, 2, 3, 4)] == [
            ["2", "x"], ["3", "150"], ["4", "x"], ["5", "150"],
        ]  # fmt: skip
        assert status(screen) == "query: rows 1–4 of 4" and screen.error_text == ""


async def test_a_refused_query_is_a_red_line_and_the_view_stays(workspace: Workspace) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await run_sql(app, pilot, "SELECT amount FROM lines WHERE amount < 3")
        assert status(screen) == "query: rows 1–3 of 3"
        await run_sql(app, pilot, "SELECT * FROM read_csv('/etc/passwd')")
        assert screen.error_text == (
            "✗ query not run (the view keeps the last one): table function read_csv() is not "
            "allowed (allowed: generate_series, parquet_scan, range, read_parquet, unnest)"
        )
        assert screen.sql == "SELECT amount FROM lines WHERE amount < 3"
        assert status(screen) == "query: rows 1–3 of 3"
        await run_sql(app, pilot, "DROP TABLE lines")
        assert screen.error_text == (
            "✗ query not run (the view keeps the last one): only SELECT queries are allowed, "
            "got a DROP statement"
        )
        assert workspace.outputs.tables()[0].row_count == 250


async def test_tab_completes_tables_and_columns_from_the_catalog(workspace: Workspace) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        editor = screen.query_one(SqlEditor)
        editor.select_all()
        await pilot.press("delete", *"SELECT v", "tab", *", a", "tab", *" FROM li", "tab")
        await pilot.pause()  # each word's list was open; Tab took its name
        assert editor.text == "SELECT vendor, amount FROM lines"
        await pilot.press(*" WHERE lines.")  # two columns: the list offers both
        listing = screen.query_one(CompletionList)
        assert [str(option.prompt) for option in listing.options] == [
            "amount  lines", "vendor  lines",
        ]  # fmt: skip
        await pilot.press("escape", *" LIMIT ", "tab")  # a number: no name fits
        assert status(screen).endswith(" · Tab: no table or column fits here")
        assert editor.has_focus  # Tab completed; it did not move the focus
        await pilot.press("1")  # the note was about the text before
        assert status(screen) == "lines: rows 1–11 of 250"  # the editor took 3 rows' room


async def test_history_walks_back_and_survives_a_restart(workspace: Workspace) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await open_inspect(app, pilot)
        await run_sql(app, pilot, "SELECT 1 AS one")
        await run_sql(app, pilot, "SELECT 2 AS two")
    again = CasparianApp(workspace)
    async with again.run_test(size=SIZE) as pilot:
        screen = await open_inspect(again, pilot)
        await pilot.press("s")
        await pilot.pause()
        editor = screen.query_one(SqlEditor)
        editor.select_all()
        await pilot.press("delete", *"SELECT 3", "ctrl+up")
        assert editor.text == "SELECT 2 AS two"
        await pilot.press("ctrl+up", "ctrl+up")  # the oldest stays
        assert editor.text == "SELECT 1 AS one"
        await pilot.press("ctrl+down", "ctrl+down")  # past the newest: what was being written
        assert editor.text == "SELECT 3"
        await pilot.press("ctrl+up", "ctrl+z")  # a history step is an edit: undo takes it back
        assert editor.text == "SELECT 3"
        assert editor.cursor_location == (0, len("SELECT 3"))


async def test_sort_by_a_column_reads_sorted_windows_and_export_writes_that_order(
    workspace: Workspace, tmp_path: Path
) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    target = tmp_path / "sorted.csv"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        grid = screen.query_one("#rows", ResultGrid)
        grid.focus()
        await pilot.press("o")  # the cursor is on amount: ascending (as stored)
        await settle(app, pilot)
        await pilot.press("o")  # descending
        await settle(app, pilot)
        grid = screen.query_one("#rows", ResultGrid)
        assert grid.render_line(1).text.split() == ["249", "acme"]
        assert status(screen) == "lines sorted by amount ↓: rows 1–14 of 250"
        await pilot.click("#rows", offset=(10, 0))  # the vendor header: ascending by vendor
        await settle(app, pilot)
        grid = screen.query_one("#rows", ResultGrid)
        assert status(screen) == "lines sorted by vendor ↑: rows 1–14 of 250"
        assert grid.render_line(1).text.split() == ["1", "acme"]  # ties broken on amount
        await pilot.press("e")
        await pilot.pause()
        title = str(app.screen.query_one(".panel-title").render())
        assert title.startswith("Export lines sorted by vendor ↑ (250 rows) to")
        await pilot.press("ctrl+u", *str(target), "enter")
        await settle(app, pilot)
        exported = pacsv.read_csv(target)
        assert exported.num_rows == 250
        assert exported.column("vendor").to_pylist() == sorted(
            exported.column("vendor").to_pylist()
        )
        assert status(screen).endswith(f" · exported 250 rows to {target}")


async def test_c_copies_the_cell_and_shift_c_the_row(workspace: Workspace) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        grid = screen.query_one("#rows", ResultGrid)
        grid.focus()
        await pilot.press("down", "right", "c")
        await pilot.pause()
        assert app.clipboard == "acme"
        await pilot.press("C")
        await pilot.pause()
        assert app.clipboard == "1.0\tacme"


async def test_a_click_on_a_histogram_bar_filters_by_its_bin(workspace: Workspace) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        histogram = screen.query_one(Histogram)
        assert str(histogram.render()).splitlines()[2].split()[:2] == ["(50,", "100]"]
        await pilot.click(Histogram, offset=(10, 2))  # the second bar: (50, 100], 50 rows
        await settle(app, pilot)
        assert screen.predicate == '"amount" > 50.0 AND "amount" <= 100.0'
        assert status(screen) == (
            'lines where "amount" > 50.0 AND "amount" <= 100.0: rows 1–14 of 50'
        )
        grid = screen.query_one("#rows", ResultGrid)
        assert grid.render_line(1).text.split() == ["51", "acme"]
        screen.query_one("#stats").focus()
        await pilot.press("down")  # vendor, within the bin
        await settle(app, pilot)
        await pilot.click(Histogram, offset=(10, 2))  # zeta: 10 of the 50
        await settle(app, pilot)
        assert screen.predicate == (
            '("amount" > 50.0 AND "amount" <= 100.0) AND "vendor" = \'zeta\''
        )
        assert screen.row_total == 10


async def test_escape_leaves_the_editor_then_the_query_then_goes_home(
    workspace: Workspace,
) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await run_sql(app, pilot, "SELECT amount FROM lines LIMIT 3")
        assert screen.query_one(SqlEditor).has_focus
        await pilot.press("escape")  # the editor → the grid
        assert screen.query_one("#rows", ResultGrid).has_focus and screen.sql
        await pilot.press("escape")  # the query → the table's rows
        await settle(app, pilot)
        assert screen.sql == "" and not screen.query_one(SqlEditor).display
        assert status(screen) == "lines: rows 1–14 of 250"
        await pilot.press("escape", "escape")  # the grid → the table list → Home
        await pilot.pause()
        assert app.current_mode == "home"


async def test_a_big_result_scrolls_to_its_end(workspace: Workspace) -> None:
    folder = workspace.config.output_dir / "big" / "numbers"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"n": pa.array(range(200_000), pa.int64())}), folder / "p.parquet")
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await run_sql(app, pilot, "SELECT n * 2 AS twice FROM numbers WHERE n % 2 = 1")
        grid = screen.query_one("#rows", ResultGrid)
        grid.focus()
        await pilot.press("end")
        await settle(app, pilot)
        assert grid.row_count == 100_000
        assert status(screen) == "query: rows 99,990–100,000 of 100,000"  # the editor is open
        assert grid.render_line(11).text.split() == ["399998"]
        assert len(grid.windowed.windows) == 2  # the first and the last: nothing between


async def test_a_big_table_shows_sampled_stats_first_then_exact(workspace: Workspace) -> None:
    import duckdb

    from casparian_tui.messages import ColumnStatsComputed

    folder = workspace.config.output_dir / "big" / "readings"
    folder.mkdir(parents=True)
    with duckdb.connect() as con:  # past SAMPLE_ABOVE_ROWS (1M): sampled stats come first
        con.execute(
            "COPY (SELECT i AS n, i % 7 AS k FROM range(1200000) t(i))"
            f" TO '{folder / 'p.parquet'}' (FORMAT parquet)"
        )
    seen: list[tuple[bool, int]] = []
    handled: list[object] = []  # kept alive, so no two are the same object

    def hook(message: object) -> None:  # a message bubbling to the app is seen once
        if isinstance(message, ColumnStatsComputed) and all(m is not message for m in handled):
            handled.append(message)
            seen.append((message.exact, message.stats.column("approx_unique")[0].as_py()))

    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        screen = await open_inspect(app, pilot)
        stats = screen.query_one("#stats")
        assert [exact for exact, _ in seen] == [False, True]
        # n's distinct values: about those of the sampled row groups, then about all 1.2M (the
        # sample's row count itself is exact: it comes from the Parquet footers)
        sampled_distinct, exact_distinct = seen[0][1], seen[1][1]
        assert 0 < sampled_distinct < 240_000 and exact_distinct > 1_000_000
        assert stats.border_title == "column stats"
        assert screen.column_figures["n"]["count"] == 1_200_000
