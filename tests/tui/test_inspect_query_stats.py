"""Pilot tests: with a query's result in the grid, the stats box and the histogram describe that
result (DuckDB's figures on it, sampled first when it is big), a click on a bar wraps the query in
a WHERE on its result, and the status line, grid, stats and export all name that query."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from textual.widgets import DataTable

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.messages import ColumnStatsComputed
from casparian_tui.screens.inspect import InspectScreen
from casparian_tui.widgets.histogram import Histogram
from casparian_tui.widgets.result_grid import ResultGrid
from casparian_tui.widgets.sql_editor import SqlEditor

from .conftest import settle
from .test_inspect import open_inspect, type_export_path, write_output
from .test_inspect_sql import run_sql, status

SIZE = (120, 36)


def stats_box(screen: InspectScreen) -> tuple[str, list[list[str]]]:
    """The stats box's title and its rows (column, type, null %, distinct, min, max) as shown."""
    grid = screen.query_one("#stats", DataTable)
    rows = [[str(value) for value in grid.get_row_at(row)] for row in range(grid.row_count)]
    return str(grid.border_title), rows


def histogram_lines(screen: InspectScreen) -> list[str]:
    return str(screen.query_one(Histogram).render()).splitlines()


async def test_a_querys_stats_and_histogram_are_of_its_result(workspace: Workspace) -> None:
    write_output(workspace)  # lines: amount 0..249, vendor zeta on every 5th row, else acme
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        assert stats_box(screen)[1][0][:2] == ["amount", "DOUBLE"]
        await run_sql(
            app, pilot, "SELECT vendor, amount * 2 AS doubled FROM lines\nWHERE amount < 100"
        )
        assert stats_box(screen) == (
            "column stats of the query",
            [
                ["vendor", "VARCHAR", "0.00", "2", "acme", "zeta"],
                ["doubled", "DOUBLE", "0.00", "97", "0.0", "198.0"],  # ≈: HyperLogLog
            ],
        )
        assert screen.column_figures["doubled"]["count"] == 100  # the result's rows, not 250
        assert histogram_lines(screen)[1:] == ["acme ██████████████████████████████ 80",
                                               "zeta ████████ 20"]  # fmt: skip
        assert status(screen) == "query: rows 1–11 of 100"
        await pilot.press("escape", "escape")  # the editor, then the query: the table again
        await settle(app, pilot)
        title, rows = stats_box(screen)
        assert title == "column stats" and [row[0] for row in rows] == ["amount", "vendor"]
        assert rows[0][5] == "249.0" and status(screen) == "lines: rows 1–14 of 250"


async def test_a_click_on_a_bar_filters_the_querys_result_and_export_writes_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    target = tmp_path / "zeta.parquet"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        query = "SELECT vendor, amount FROM lines"
        await run_sql(app, pilot, query)
        assert screen.histogram_column == "amount"  # the table's histogram column, followed
        assert histogram_lines(screen)[0].startswith("amount  DOUBLE · min 0.0 · max 249.0")
        screen.query_one("#stats").focus()
        await pilot.press("up")  # vendor
        await settle(app, pilot)
        assert histogram_lines(screen)[1:] == ["acme ██████████████████████████████ 200",
                                               "zeta ████████ 50"]  # fmt: skip
        await pilot.click(Histogram, offset=(3, 2))  # zeta's bar
        await settle(app, pilot)
        wrapped = f"SELECT * FROM ({query}) AS cf_result WHERE \"vendor\" = 'zeta'"
        assert screen.sql == wrapped and screen.query_one(SqlEditor).text == wrapped
        shown = str(screen.query_one("#inspect-filter").render())
        assert shown.startswith(f"SQL {wrapped}")
        assert status(screen) == "query: rows 1–11 of 50"
        assert stats_box(screen)[1][0] == ["vendor", "VARCHAR", "0.00", "1", "zeta", "zeta"]
        assert histogram_lines(screen)[1:] == ["zeta ██████████████████████████████ 50"]
        grid = screen.query_one("#rows", ResultGrid)
        assert grid.render_line(1).text.split() == ["zeta", "0"]

        screen.query_one("#stats").focus()
        await pilot.press("down")  # amount, within zeta's rows
        await settle(app, pilot)
        first_bin, first_count = (
            screen.bucket_filters[0],
            int(histogram_lines(screen)[1].split()[-1]),
        )
        await pilot.click(Histogram, offset=(3, 1))  # amount's first bar
        await settle(app, pilot)
        both = f"SELECT * FROM ({query}) AS cf_result WHERE (\"vendor\" = 'zeta') AND {first_bin}"
        assert screen.sql == both  # one WHERE over the query, not a wrap of a wrap
        assert (
            screen.row_total == first_count
            and screen.column_figures["amount"]["count"] == first_count
        )
        assert screen.histogram_column == "amount"  # its histogram, now of these rows
        assert sum(int(line.split()[-1]) for line in histogram_lines(screen)[1:]) == first_count

        await type_export_path(pilot, target)
        await settle(app, pilot)
        exported = pq.read_table(target)
        assert exported.num_rows == first_count
        assert set(exported.column("vendor").to_pylist()) == {"zeta"}
        assert status(screen).endswith(f" · exported {first_count} rows to {target}")


async def test_sorting_a_query_keeps_its_stats_and_a_new_query_replaces_them(
    workspace: Workspace,
) -> None:
    write_output(workspace)
    computed: list[tuple[str, bool]] = []
    seen: list[object] = []

    def hook(message: object) -> None:
        if isinstance(message, ColumnStatsComputed) and all(m is not message for m in seen):
            seen.append(message)
            computed.append((message.query, message.exact))

    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        screen = await open_inspect(app, pilot)
        await run_sql(app, pilot, "SELECT vendor, count(*) AS n FROM lines GROUP BY 1")
        grid = screen.query_one("#rows", ResultGrid)
        grid.focus()
        await pilot.press("right", "o")  # sorted by n: the same rows, the same stats
        await settle(app, pilot)
        assert status(screen) == "query sorted by n ↑: rows 1–2 of 2"
        assert computed == [
            ("", True),
            ("SELECT vendor, count(*) AS n FROM lines GROUP BY 1", True),
        ]
        await pilot.press("s", "ctrl+j")  # the same text run again: still the same stats
        await settle(app, pilot)
        assert len(computed) == 2
        editor = screen.query_one(SqlEditor)
        editor.load_text("SELECT amount FROM lines WHERE amount >= 200")
        await pilot.press("ctrl+j")
        editor.load_text("SELECT vendor AS who FROM lines LIMIT 3")
        await pilot.press("ctrl+j")  # before the first answered: only the last one shows
        await settle(app, pilot)
        assert screen.sql == "SELECT vendor AS who FROM lines LIMIT 3"
        assert stats_box(screen) == (
            "column stats of the query",
            [["who", "VARCHAR", "0.00", "2", "acme", "zeta"]],
        )


async def test_a_big_results_stats_are_sampled_first_then_exact(workspace: Workspace) -> None:
    import duckdb

    folder = workspace.config.output_dir / "big" / "readings"
    folder.mkdir(parents=True)
    with duckdb.connect() as con:  # past SAMPLE_ABOVE_ROWS (1M): sampled stats come first
        con.execute(
            "COPY (SELECT i AS n, i % 7 AS k FROM range(1200000) t(i))"
            f" TO '{folder / 'p.parquet'}' (FORMAT parquet)"
        )
    seen: list[tuple[bool, int]] = []
    handled: list[object] = []
    query = "SELECT k, n * 2 AS twice FROM readings WHERE n < 1100000"

    def hook(message: object) -> None:
        if (
            isinstance(message, ColumnStatsComputed)
            and message.query == query
            and all(m is not message for m in handled)
        ):
            handled.append(message)
            seen.append((message.exact, message.stats.column("count")[0].as_py()))

    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        screen = await open_inspect(app, pilot)
        await run_sql(app, pilot, query)
        assert [exact for exact, _ in seen] == [False, True]
        assert 0 < seen[0][1] < 110_000 and seen[1][1] == 1_100_000  # about 1%, then all
        title, rows = stats_box(screen)
        assert title == "column stats of the query"
        assert rows[1][:2] == ["twice", "BIGINT"] and rows[1][4:] == ["0", "2199998"]


async def test_stats_that_fail_on_a_later_row_are_said_and_the_rows_stay(
    workspace: Workspace,
) -> None:
    """The grid reads the first rows; the stats read every row, and one of them fails."""
    write_output(workspace)
    app = CasparianApp(workspace)
    query = (
        "SELECT i, CASE WHEN i < 50000 THEN i ELSE error('bad row ' || i) END AS v"
        " FROM range(100000) t(i)"
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await run_sql(app, pilot, query)
        assert status(screen) == "query: rows 1–11 of 100,000"
        assert screen.query_one("#rows", ResultGrid).render_line(1).text.split() == ["0", "0"]
        assert stats_box(screen) == ("column stats of the query: not read", [])
        assert screen.error_text == (
            "✗ column stats of the query not read: the query failed: Invalid Input Error: "
            "bad row 50000"
        )
        assert screen.sql == query


async def test_a_histogram_that_cannot_be_binned_is_said(workspace: Workspace) -> None:
    """DuckDB's equi_width_bins refuses an infinite timestamp: the stats show, the histogram says
    it was not read and why."""
    write_output(workspace)
    app = CasparianApp(workspace)
    query = (
        "SELECT CASE WHEN i = 3 THEN 'infinity'::TIMESTAMP"
        " ELSE TIMESTAMP '2024-01-01' + INTERVAL (i) DAY END AS x FROM range(10) t(i)"
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await run_sql(app, pilot, query)
        assert stats_box(screen) == (
            "column stats of the query",
            [["x", "TIMESTAMP", "0.00", "10", "2024-01-01 00:00:00", "infinity"]],
        )
        assert histogram_lines(screen) == ["x: not read"]
        assert screen.error_text.startswith(
            "✗ histogram of x not read: the query failed: Invalid Input Error: equi_width_bucket"
            " does not support infinite or nan as min/max value"
        )
