"""README claims that issue 14 found untrue, each now tested: a dev run's quarantine (same rules as
production, kept beside its output, not in `quarantine list`), read-only commands including the
TUI never create a home, and the MCP tools' access labels (in the registry, the annotations sent
to clients and the README's table) say what they do. Unknown ``CASPARIAN_*`` variables are
refused: ``test_config.py``."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from casparian_engine.cli.common import READ_ONLY_COMMANDS
from casparian_engine.cli.main import app
from casparian_engine.contracts import SchemaContract
from casparian_engine.store.quarantine import QuarantineFilter
from casparian_engine.tools.registry import REGISTRY
from casparian_engine.workspace import Workspace

from .cli_support import CASPARIAN, mcp_session
from .registration_support import CONTRACT, make_parser

INVOICE = "id,amount\n1,10.5\n2,x\n3,7\n"

# Arguments a read-only command needs to get as far as opening the home.
ARGUMENTS = {
    "jobs logs": ["1"], "audit export": ["evidence"], "parser show": ["p"],
    "parser export": ["p", "out"], "quarantine show": ["1"], "schema show": ["s"],
    "schema diff": ["s", "1", "2"], "query": ["SELECT 1"],
}  # fmt: skip


def test_dev_run_quarantines_by_the_production_rules_beside_its_output(
    home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data" / "invoices"
    data.mkdir(parents=True)
    source = data / "inv.csv"
    source.write_text(INVOICE)
    parser_dir = make_parser(tmp_path / "parser")
    with Workspace.open(home) as workspace:
        workspace.files.scan(tmp_path / "data")
        workspace.parsers.register(parser_dir)
        workspace.contracts.approve(SchemaContract.from_yaml(CONTRACT))
        dev = workspace.parsers.run(parser_dir / "invoice_parser.py", source)
        assert dev.failure is None, dev.failure
        assert workspace.quarantine.list(QuarantineFilter()) == []  # dev rows stay out
        assert workspace.jobs.process(workers=1).rows_quarantined == 1
        (prod,) = workspace.quarantine.list(QuarantineFilter())
    assert dev.outputs["invoices"].quarantined == 1
    (dev_row,) = pq.read_table(dev.targets["invoices__quarantine"]).to_pylist()
    assert (dev_row["rules"], json.loads(dev_row["violations"])) == (prod.rules, prod.violations)
    assert json.loads(dev_row["row_values"]) == prod.row_values
    assert (dev_row["_cf_row"], dev_row["_cf_source_path"]) == (prod.source_row, str(source))


@pytest.mark.parametrize("command", sorted(READ_ONLY_COMMANDS - {"tui"}))
def test_read_only_commands_create_no_home(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "mistyped-home"
    words = [*command.split(), *ARGUMENTS.get(command, [])]
    result = CliRunner().invoke(app, ["--home", str(missing), *words], env={"COLUMNS": "200"})
    assert (result.exit_code, result.output) == (1, (
        f"error: no Casparian home at {missing} (create one with `casparian scan` or "
        "`casparian demo`)\n"
    )), command  # fmt: skip
    assert not missing.exists()


@pytest.mark.parametrize("where", ["root option", "tui option"])
def test_the_tui_on_a_mistyped_home_creates_nothing(tmp_path: Path, where: str) -> None:
    missing = tmp_path / "TYPO"
    home = ["--home", str(missing)]
    args = [*home, "tui"] if where == "root option" else ["tui", *home]
    done = subprocess.run(
        [CASPARIAN, *args], capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""}
    )
    assert (done.returncode, done.stderr) == (1, (
        f"error: no Casparian home at {missing} (create one with `casparian scan` or "
        "`casparian demo`)\n"
    ))  # fmt: skip
    assert not missing.exists()


async def test_mcp_access_labels_say_what_each_tool_does(tmp_path: Path) -> None:
    assert {name: spec.access for name, spec in REGISTRY.items()} == {
        "quick_scan": "record", "apply_scope": "record", "discover_schemas": "record",
        "approve_schemas": "approve", "run_backtest": "run", "execute_pipeline": "write",
        "query_output": "read",
    }  # fmt: skip
    root = tmp_path / "data"
    root.mkdir()
    (root / "a.csv").write_text("a\n1\n")
    home = tmp_path / "home"
    async with mcp_session(home, root) as client:
        tools = (await client.list_tools()).tools
        scanned = await client.call_tool("quick_scan", {"path": str(root)})
    hints = {t.name: (t.annotations.read_only_hint if t.annotations else None) for t in tools}
    assert hints == {name: name == "query_output" for name in REGISTRY}
    assert not scanned.is_error  # a default server records: the scan is in the inventory
    with Workspace.open(home) as workspace:
        assert [r.path for r in workspace.files.list()] == [str(root / "a.csv")]


def test_the_readme_tool_table_gives_each_tool_its_access_label() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = [re.split(r"(?<!\\)\|", line) for line in readme.splitlines() if line.startswith("| `")]
    labels = {
        cells[1].strip().strip("`").split("(", 1)[0]: cells[2].split()[0]
        for cells in rows
        if cells[1].strip().strip("`").split("(", 1)[0] in REGISTRY
    }
    assert labels == {name: spec.access for name, spec in REGISTRY.items()}
