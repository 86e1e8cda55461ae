"""Start-up loads no query engine: Home's figures (output tables and rows from Parquet footers,
the queue's counts) are read without importing DuckDB, which costs every start ~0.3 s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from casparian_engine.workspace import Workspace

CHILD = """
import sys
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.services import EngineService

workspace = Workspace.open(sys.argv[1])
app = CasparianApp(workspace, live_refresh=False)
print(EngineService(app, workspace).home_stats()["inspect"])
print("duckdb" in sys.modules)
workspace.close()
"""


def test_home_figures_load_no_duckdb(workspace: Workspace) -> None:
    folder = workspace.config.output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    table = pa.table({"amount": [1.0, 2.0, 3.0], "_cf_source_hash": ["a", "a", "b"]})
    pq.write_table(table, folder / "part-0.parquet")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(workspace.home)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.splitlines() == ["1 table, 3 rows", "False"]


WARM_CHILD = """
import asyncio, sys
from casparian_engine.workspace import Workspace
from casparian_tui.app import MODE_MODULES, CasparianApp

async def main() -> None:
    workspace = Workspace.open(sys.argv[1])
    app = CasparianApp(workspace, live_refresh=False)
    async with app.run_test(size=(120, 36)) as pilot:
        print([name in sys.modules for name in MODE_MODULES])  # start-up imports none
        while getattr(app.screen, "attention", None) is None:  # Home and "Needs you" shown
            await app.workers.wait_for_complete()
            await pilot.pause()
        await app.workers.wait_for_complete()
        print([name in sys.modules for name in MODE_MODULES], app.current_mode)
    workspace.close()

asyncio.run(main())
"""


def test_the_modes_modules_load_after_home_shows(workspace: Workspace) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WARM_CHILD, str(workspace.home)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.splitlines() == [
        "[False, False, False, False]",
        "[True, True, True, True] home",  # imported, no mode built: Home still shows
    ]
