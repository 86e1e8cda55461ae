"""Every mode at 80x24 and at 120x36, with fixed data, a fixed home and a fixed clock: each must
be usable on a small terminal (no box collapsed to its border, no key cut from the footer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from casparian_engine.workspace import Workspace
from tests.snapshots.test_snapshots import home_figures_shown, settle, snapshot_app, text_of

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])


def write_lines(workspace: Workspace) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = workspace.config.output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    amounts = pa.array([float(i) for i in range(40)])
    vendors = pa.array(["acme" if i % 5 else "zeta" for i in range(40)])
    pq.write_table(pa.table({"amount": amounts, "vendor": vendors}), folder / "part-0.parquet")


@SIZES
def test_home_at(snap_compare, fixed_workspace: Workspace, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def home_shown(pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: home_figures_shown(pilot))

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=size, run_before=home_shown)


@SIZES
def test_discover_at(  # type: ignore[no-untyped-def]
    snap_compare, fixed_workspace: Workspace, fixed_data: Path, size: tuple[int, int]
) -> None:
    fixed_workspace.files.scan(fixed_data)
    first_file = str(fixed_data / "invoices" / "inv0.csv")

    async def open_discover(pilot: Pilot[None]) -> None:
        await pilot.press("alt+d")
        screen = pilot.app.screen

        def listed_and_previewed() -> bool:
            return (
                screen.query_one("#files", DataTable).row_count == 6
                and text_of(screen, "#files-status") == "files 1–6 of 6"
                and text_of(screen, "#preview").replace("\n", "").startswith(first_file)
            )

        await settle(pilot, listed_and_previewed)

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=size, run_before=open_discover)


@SIZES
def test_process_at(  # type: ignore[no-untyped-def]
    snap_compare, fixed_workspace: Workspace, fixed_data: Path, size: tuple[int, int]
) -> None:
    from tests.engine.registration_support import make_parser

    fixed_workspace.parsers.register(make_parser(fixed_data / "parser"))
    fixed_workspace.files.scan(fixed_data / "invoices")

    async def open_process(pilot: Pilot[None]) -> None:
        await pilot.press("alt+p")
        screen = pilot.app.screen

        def parser_listed() -> bool:
            return screen.query_one("#parsers-table", DataTable).row_count == 1 and text_of(
                screen, "#parser-files-title"
            ).startswith("invoices matches")

        await settle(pilot, parser_listed)

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=size, run_before=open_process)


@SIZES
def test_inspect_at(snap_compare, fixed_workspace: Workspace, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    write_lines(fixed_workspace)

    async def open_inspect(pilot: Pilot[None]) -> None:
        await pilot.press("alt+i")
        screen = pilot.app.screen

        def stats_and_rows_shown() -> bool:
            stats = screen.query_one("#stats", DataTable)
            status = text_of(screen, "#inspect-status")
            return (
                stats.row_count == 2
                and bool(stats.border_title)
                and text_of(screen, "#histogram").startswith("amount")
                and status.startswith("lines: rows 1–")
                and status.endswith(" of 40")
                and len(screen.query("#rows")) == 1
            )

        await settle(pilot, stats_and_rows_shown)

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=size, run_before=open_inspect)


@SIZES
def test_inspect_sql_at(snap_compare, fixed_workspace: Workspace, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The SQL editor open over a query's result, sorted by a column."""
    write_lines(fixed_workspace)

    async def run_query(pilot: Pilot[None]) -> None:
        await pilot.press("alt+i")
        screen = pilot.app.screen
        await settle(pilot, lambda: text_of(screen, "#inspect-status").startswith("lines: rows"))
        await pilot.press("s", "ctrl+u", *"SELECT vendor, count(*) AS n FROM lines GROUP BY 1")
        await pilot.press("ctrl+j")
        await settle(pilot, lambda: text_of(screen, "#inspect-status") == "query: rows 1–2 of 2")
        await pilot.press("escape", "right", "o", "o")  # the grid; sort by n, then descending

        def sorted_with_the_results_stats() -> bool:
            stats = screen.query_one("#stats", DataTable)
            return (
                text_of(screen, "#inspect-status") == "query sorted by n ↓: rows 1–2 of 2"
                and stats.border_title == "column stats of the query"
                and stats.row_count == 2
                and text_of(screen, "#histogram").startswith("vendor")
            )

        await settle(pilot, sorted_with_the_results_stats)

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=size, run_before=run_query)


@SIZES
def test_inspect_sql_completion_at(  # type: ignore[no-untyped-def]
    snap_compare, fixed_workspace: Workspace, size: tuple[int, int]
) -> None:
    """The SQL editor with the completion list open under the word being typed."""
    from casparian_tui.widgets.sql_completion import CompletionList
    from casparian_tui.widgets.sql_editor import SqlEditor

    write_lines(fixed_workspace)

    async def type_a_column(pilot: Pilot[None]) -> None:
        await pilot.press("alt+i")
        screen = pilot.app.screen
        await settle(pilot, lambda: text_of(screen, "#inspect-status").startswith("lines: rows"))
        await pilot.press("s")
        await settle(pilot, lambda: screen.query_one(SqlEditor).has_focus)
        screen.query_one(SqlEditor).cursor_blink = False  # a fixed picture
        await pilot.press("ctrl+u", *"SELECT * FROM lines WHERE lines.")
        await settle(pilot, lambda: screen.query_one(CompletionList).option_count == 2)

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=size, run_before=type_a_column)


@SIZES
def test_jobs_at(snap_compare, fixed_workspace: Workspace, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    from casparian_engine.store.job_models import JobFailure, NewJob

    jobs = fixed_workspace.store.jobs
    failed_id, _queued_id = jobs.enqueue(
        [NewJob("invoices", "1.0", "/data/a.csv"), NewJob("invoices", "1.0", "/data/b.csv")],
        skip_processed=False,
    )
    lease = jobs.claim("snapshot-worker", limit=1)
    jobs.fail(failed_id, lease.token, JobFailure("ParseError", "bad header in a.csv", trace="T"))
    fixed_workspace.store.db.execute(
        "UPDATE cf_jobs SET started_at = 100.0, finished_at = 103.5 WHERE id = ?", (failed_id,)
    )

    async def open_jobs(pilot: Pilot[None]) -> None:
        await pilot.press("alt+j")
        screen = pilot.app.screen

        def listed() -> bool:
            table = screen.query_one("#jobs-table", DataTable)
            return table.row_count == 2 and text_of(screen, "#jobs-status") != ""

        await settle(pilot, listed)

    app = snapshot_app(fixed_workspace, now=200.0)
    assert snap_compare(app, terminal_size=size, run_before=open_jobs)
