"""`casparian query`: read-only SQL over the outputs from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
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


def test_blobs_print_as_hex_with_a_note_and_the_time_limit_is_a_setting(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _outputs(home)
    runner = CliRunner()
    shown = runner.invoke(app, ["--home", str(home), "query", "SELECT from_hex('ff00fe') AS b"])
    assert shown.exit_code == 0, shown.output
    assert "FF00FE" in shown.output
    assert "note: BLOB values shown as hex text: b" in shown.output
    monkeypatch.setenv("CASPARIAN_QUERY_TIMEOUT_S", "0.5")
    endless = "SELECT sum(hash(i)) FROM range(1000000000000) t(i)"
    stopped = runner.invoke(app, ["--home", str(home), "query", endless])
    assert stopped.exit_code == 1
    assert (
        "the query ran for more than 0.5 s and was cancelled (setting query_timeout_s)"
        in " ".join(stopped.output.split())
    )
