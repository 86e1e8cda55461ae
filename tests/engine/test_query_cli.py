"""`casparian query`: read-only SQL over the outputs from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.workspace import Workspace


def _outputs(home: Path) -> None:
    Workspace.open(home).close()
    folder = home / "output" / "invoices" / "invoices"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table({"currency": ["EUR", "EUR", "GBP"], "amount": [1.0, 2.0, 5.0]}),
        folder / "part-1.parquet",
    )


def test_lists_tables_and_answers_a_select(home: Path) -> None:
    _outputs(home)
    runner = CliRunner()
    listed = runner.invoke(app, ["--home", str(home), "query", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [t["name"] for t in json.loads(listed.output)] == ["invoices"]
    answered = runner.invoke(
        app,
        [
            "--home",
            str(home),
            "query",
            "SELECT currency, sum(amount) AS total FROM invoices GROUP BY 1 ORDER BY 1",
            "--json",
        ],
    )
    assert answered.exit_code == 0, answered.output
    assert json.loads(answered.output)["rows"] == [
        {"currency": "EUR", "total": 3.0},
        {"currency": "GBP", "total": 5.0},
    ]


def test_a_write_is_refused_with_the_reason(home: Path) -> None:
    _outputs(home)
    result = CliRunner().invoke(app, ["--home", str(home), "query", "DELETE FROM invoices"])
    assert result.exit_code == 1
    assert "only SELECT queries are allowed, got a DELETE statement" in result.output
    assert (home / "output" / "invoices" / "invoices" / "part-1.parquet").exists()
