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


SIDEBAR_CHILD = """
import asyncio, sys
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp

HEAVY = ("casparian_engine.ai", "markdown_it", "textual.widgets._markdown")

async def main() -> None:
    workspace = Workspace.open(sys.argv[1])
    app = CasparianApp(workspace, live_refresh=False)
    async with app.run_test(size=(120, 36)) as pilot:
        while getattr(app.screen, "attention", None) is None:  # Home and "Needs you" shown
            await app.workers.wait_for_complete()
            await pilot.pause()
        await app.workers.wait_for_complete()  # the modes' modules imported too
        print([name in sys.modules for name in HEAVY], "ai" in vars(app.service))
        await pilot.press("alt+a")
        await pilot.pause()
        print([name in sys.modules for name in HEAVY], "ai" in vars(app.service))
    workspace.close()

asyncio.run(main())
"""


def test_the_ai_sidebar_loads_its_engine_and_markdown_when_first_shown(
    workspace: Workspace,
) -> None:
    """The hidden sidebar of every mode costs start-up no AI package, Markdown (markdown-it,
    highlighting) or provider choice; Alt+a brings them."""
    done = subprocess.run(
        [sys.executable, "-c", SIDEBAR_CHILD, str(workspace.home)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.splitlines() == [
        "[False, False, False] False",
        "[True, False, False] True",  # no saved conversation: nothing drawn as Markdown yet
    ]
