"""Inspect on a big table: first stats (sampled, then exact) and a scroll step of the result grid,
each beside DuckDB's own time for the same query in the same process.

A table of --rows rows (default 10M: id, amount, vendor, day, note) is written once as Parquet
into a fresh home's outputs. Figures, medians of --repeat runs:
- engine: the inspector's sampled SUMMARIZE (1%), its exact SUMMARIZE, a guarded result window
  from the middle of the table, and sorted windows: near the top (DuckDB's top-N), the first one
  deep in the table (the result is sorted once) and later deep ones (read from the kept sorted
  result); beside each, DuckDB on a plain connection running the same SQL over the same file
  (each DuckDB sorted window sorts the whole table again);
- app: the real TUI under Pilot (headless): Alt+i until the sampled stats show, until the exact
  stats show; a scroll step inside a read window (] — a screen down), and a jump to a row whose
  window must be read first (until its rows are drawn); then sorted by amount (descending), a
  jump deep into the table (the result sorted once) and later jumps (read from the kept sort).
Usage: .venv/bin/python bench/inspect_grid.py [--rows 10000000] [--repeat 3] [--engine-only]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would stand in for
# the standard library's `inspect` (asyncio and dataclasses import it): the repository root
# takes the folder's place.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import duckdb  # noqa: E402

from casparian_engine.workspace import Workspace  # noqa: E402

WORK_DIR = Path(__file__).resolve().parent / ".work"


def write_table(folder: Path, rows: int) -> Path:
    """One Parquet file of ``rows`` rows (reused when a complete one is there)."""
    part = folder / "part-0.parquet"
    marker = folder / f".complete-{rows}"
    if marker.exists() and part.exists():
        return part
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT i AS id, (i * 7919 % 100000) / 100.0 AS amount,"
            f" 'vendor_' || (i % 13) AS vendor, DATE '2020-01-01' + (i % 1500)::INTEGER AS day,"
            f" 'note ' || (i % 977) AS note FROM range({rows}) t(i))"
            f" TO '{part}' (FORMAT parquet, ROW_GROUP_SIZE 122880)"
        )
    marker.touch()
    return part


def timed(action: Callable[[], Any], repeat: int) -> float:
    """The median seconds of ``repeat`` runs of ``action``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def duckdb_time(sql: str, repeat: int) -> float:
    """DuckDB alone: ``sql`` to Arrow on a connection opened beforehand (not timed)."""
    with duckdb.connect() as con:
        return timed(lambda: con.sql(sql).to_arrow_table(), repeat)


def engine_figures(
    workspace: Workspace, part: Path, rows: int, repeat: int
) -> list[tuple[str, float, float]]:
    inspector = workspace.outputs.inspector()
    source = f"read_parquet('{part}')"
    middle = rows // 2
    figures = [
        (
            "sampled stats (1%)",
            timed(lambda: inspector.column_stats("lines", sample_percent=1.0), repeat),
            duckdb_time(
                f"SUMMARIZE SELECT * FROM {source} USING SAMPLE 1.0 PERCENT (system)", repeat
            ),
        ),
        (
            "exact stats",
            timed(lambda: inspector.column_stats("lines"), repeat),
            duckdb_time(f"SUMMARIZE SELECT * FROM {source}", repeat),
        ),
    ]
    with workspace.outputs.catalog(with_quarantine=False) as catalog:
        result = catalog.open_result("SELECT * FROM lines")
        figures.append(
            (
                f"window of 256 rows at row {middle:,}",
                timed(lambda: result.window(middle, 256), repeat),
                duckdb_time(f"SELECT * FROM {source} LIMIT 256 OFFSET {middle}", repeat),
            )
        )
        figures.append(
            (
                "row count",
                timed(result.row_count, repeat),
                duckdb_time(f"SELECT count(*) FROM {source}", repeat),
            )
        )
        order = [(1, True)]
        sorted_sql = f"SELECT * FROM {source} ORDER BY 2 DESC, 1, 3, 4, 5"
        figures.append(
            (
                "sorted window (amount desc) at row 0 (top-N)",
                timed(lambda: result.window(0, 256, order), repeat),
                duckdb_time(f"{sorted_sql} LIMIT 256", repeat),
            )
        )
        figures.append(
            (
                f"sorted window at row {middle:,}: first (sorts once)",
                timed(lambda: result.window(middle, 256, order), 1),
                duckdb_time(f"{sorted_sql} LIMIT 256 OFFSET {middle}", 1),
            )
        )
        deeper = rows - rows // 10
        figures.append(
            (
                f"sorted window at row {deeper:,}: later",
                timed(lambda: result.window(deeper, 256, order), repeat),
                duckdb_time(f"{sorted_sql} LIMIT 256 OFFSET {deeper}", 1),
            )
        )
    return figures


async def app_figures(workspace: Workspace, rows: int) -> list[tuple[str, float]]:
    """The real app, headless at 120x36: times from a key to what it shows."""
    from casparian_tui.app import CasparianApp
    from casparian_tui.messages import ColumnStatsComputed
    from casparian_tui.widgets.result_grid import NOT_READ, ResultGrid

    stats_seen: dict[bool, float] = {}
    app = CasparianApp(workspace, live_refresh=False)
    figures: list[tuple[str, float]] = []

    def hook(message: Any) -> None:
        if isinstance(message, ColumnStatsComputed) and message.exact not in stats_seen:
            stats_seen[message.exact] = time.perf_counter()

    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        for _ in range(20):  # start-up (bench/tui.py measures it): Home and its figures
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("alt+i")  # the small table first in the list is open
        for _ in range(20):
            await app.workers.wait_for_complete()
            await pilot.pause()
        stats_seen.clear()
        start = time.perf_counter()
        await pilot.press("down")  # the big table: its stats are read now
        while True not in stats_seen:
            await pilot.pause()
        await pilot.pause()
        if False in stats_seen:  # a table of at most 1M rows shows exact stats at once
            figures.append(("table chosen → sampled stats shown", stats_seen[False] - start))
        figures.append(("table chosen → exact stats shown", stats_seen[True] - start))
        screen = app.screen
        while not screen.query("#rows") or screen.query_one("#rows", ResultGrid).row_count < rows:
            await pilot.pause()
        grid = screen.query_one("#rows", ResultGrid)
        grid.focus()
        await pilot.pause()

        def drawn() -> bool:
            return all(NOT_READ not in grid.render_line(y).text for y in range(1, 10))

        steps, waited = [], []
        for _ in range(5):  # ] as its binding runs it, then every line of the grid drawn
            start = time.perf_counter()
            screen.action_page(1)
            for y in range(grid.size.height):
                grid.render_line(y)
            steps.append(time.perf_counter() - start)
            await pilot.pause()
            start = time.perf_counter()
            await pilot.press("right_square_bracket")
            while not drawn():
                await pilot.pause()
            waited.append(time.perf_counter() - start)
        figures.append(("] a screen down: state + grid drawn", statistics.median(steps)))
        figures.append(
            ("] pressed under Pilot until drawn (+ its idle wait)", statistics.median(waited))
        )
        frames = []
        for _ in range(5):  # the draw alone: the rows in view rendered from held windows
            grid._clear_caches()
            start = time.perf_counter()
            for y in range(grid.size.height):
                grid.render_line(y)
            frames.append(time.perf_counter() - start)
        figures.append(("drawing the rows in view (no cache)", statistics.median(frames)))
        jumps = []
        for target in (rows // 2, rows // 3, rows - 100):  # rows whose windows are not read
            start = time.perf_counter()
            grid.move_cursor(row=target, animate=False)
            grid.scroll_to(y=target, animate=False)
            await pilot.pause()
            while not drawn():
                await pilot.pause()
            jumps.append(time.perf_counter() - start)
        figures.append(("jump to an unread row → drawn", statistics.median(jumps)))
        # Sorted by amount (o on its column, descending): a deep jump sorts the result once,
        # later deep jumps read the kept sorted result.
        grid.move_cursor(row=0, column=1, animate=False)
        for _ in range(2):  # ascending, then descending
            shown = screen.shown_generation
            screen.sort_by(1)
            while screen.shown_generation == shown:
                await pilot.pause()
        grid = screen.query_one("#rows", ResultGrid)
        for label, target in (("sorts once", rows // 2), ("later", rows // 3),
                              ("later", rows - 300)):  # fmt: skip
            start = time.perf_counter()
            grid.move_cursor(row=target, animate=False)
            grid.scroll_to(y=target, animate=False)
            await pilot.pause()
            while not drawn():
                await pilot.pause()
            figures.append((f"sorted: jump to row {target:,} → drawn ({label})",
                            time.perf_counter() - start))  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engine-only", action="store_true", help="skip the app's figures")
    args = parser.parse_args()
    WORK_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK_DIR) as home:
        workspace = Workspace.open(Path(home))
        try:
            folder = workspace.config.output_dir / "bench" / "lines"
            start = time.perf_counter()
            cached = WORK_DIR / f"inspect-{args.rows}"
            part = write_table(cached, args.rows)
            folder.mkdir(parents=True)
            os.link(part, folder / "part-0.parquet")  # same file system: no copy
            small = workspace.config.output_dir / "a_small" / "first"  # listed first
            small.mkdir(parents=True)
            with duckdb.connect() as con:
                con.execute(
                    f"COPY (SELECT 1 AS one) TO '{small / 'part-0.parquet'}' (FORMAT parquet)"
                )
            print(f"table: {args.rows:,} rows, {part.stat().st_size / 1e6:,.0f} MB Parquet "
                  f"(ready in {time.perf_counter() - start:.1f} s); load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
            print(
                f"{'engine (median of ' + str(args.repeat) + ')':<52} {'product':>9} {'DuckDB':>9}"
            )
            for label, product, baseline in engine_figures(workspace, part, args.rows, args.repeat):
                print(f"{label:<52} {product * 1000:>7.0f}ms {baseline * 1000:>7.0f}ms "
                      f"({product / baseline:.3g}x)")  # fmt: skip
            if args.engine_only:
                return
            print(f"{'app (real TUI, headless 120x36)':<52} {'time':>9}")
            for label, seconds in asyncio.run(app_figures(workspace, args.rows)):
                print(f"{label:<52} {seconds * 1000:>7.0f}ms")
        finally:
            workspace.close()


if __name__ == "__main__":
    main()
