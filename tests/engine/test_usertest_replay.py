"""New-user fixes: replay of rows quarantined before their contract was approved, show text."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.contracts import SchemaContract, validate
from casparian_engine.runner.quarantine import (
    RowLineage,
    StoreQuarantineWriter,
    split_parser_flagged,
)
from casparian_engine.store.quarantine import QuarantineFilter
from casparian_engine.workspace import Workspace

from .registration_support import uv_lock

PARSER = """\
from casparian_parser import Parser


class SmallBad(Parser):
    name = "smallbad"
    version = "1.0.0"
    tags = ["small"]
    outputs = {"rows": "smallbad.contract.yaml"}

    def parse(self, path):
        import pyarrow.csv as pv
        return pv.read_csv(path)
"""

STRICT = {"name": "smallbad", "columns": [{"name": "n", "type": "int64", "max": 10}]}
FIXED = {"name": "smallbad", "columns": [{"name": "n", "type": "int64", "max": 1000}]}


def _parser_folder(folder: Path) -> Path:
    folder.mkdir()
    (folder / "smallbad.py").write_text(PARSER)
    (folder / "smallbad.contract.yaml").write_text(SchemaContract.from_dict(FIXED).to_yaml())
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "smallbad"\nversion = "1.0.0"\nrequires-python = ">=3.11"\n'
        "dependencies = []\n"
    )
    uv_lock(folder)
    return folder


def _lineage(output: str, contract_hash: str | None, version: str = "1.0.0") -> RowLineage:
    """Rows of /data/small.csv from job 3 of parser smallbad."""
    return RowLineage("/data/small.csv", "abc", 3, "smallbad", version, output, contract_hash)


def _quarantine_unapproved(workspace: Workspace) -> None:
    """Rows of output 'rows' checked against a contract that was never approved."""
    strict = SchemaContract.from_dict(STRICT)
    table = pa.table({"n": ["5", "50", "500", "x"], "_cf_row": [1, 2, 3, 4]})
    quarantined = validate(table, strict).quarantined
    StoreQuarantineWriter(workspace.store).write(
        quarantined,
        _lineage("rows", strict.content_hash),
    )


def test_replay_finds_the_contract_by_the_parsers_declared_name(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.parsers.register(_parser_folder(tmp_path / "parser"))
    _quarantine_unapproved(workspace)
    assert workspace.quarantine.count(QuarantineFilter(parser_name="smallbad")) == 3
    workspace.contracts.approve(SchemaContract.from_dict(FIXED))
    (result,) = workspace.quarantine.replay(QuarantineFilter(parser_name="smallbad"))
    assert result.error is None
    assert (result.contract_name, result.contract_version) == ("smallbad", 1)
    assert (result.rows_checked, result.rows_moved, result.rows_still_quarantined) == (3, 2, 1)


def test_replay_finds_the_contract_by_the_rows_hash(workspace: Workspace) -> None:
    """Rows checked against an approved version of 'smallbad' replay against its newest."""
    workspace.contracts.approve(SchemaContract.from_dict(STRICT))
    _quarantine_unapproved(workspace)
    workspace.contracts.approve(SchemaContract.from_dict(FIXED))
    (result,) = workspace.quarantine.replay(QuarantineFilter(parser_name="smallbad"))
    assert (result.contract_name, result.contract_version, result.rows_moved) == ("smallbad", 2, 2)


def test_one_failing_group_does_not_stop_the_others(home: Path, tmp_path: Path) -> None:
    with Workspace.open(home) as workspace:
        workspace.parsers.register(_parser_folder(tmp_path / "parser"))
        _quarantine_unapproved(workspace)
        table = pa.table({"v": ["1"], "_cf_row": [9]})
        contract = SchemaContract.from_dict(
            {"name": "x", "columns": [{"name": "v", "type": "date"}]}
        )
        writer = StoreQuarantineWriter(workspace.store)
        writer.write(validate(table, contract).quarantined, _lineage("extra", None))
        workspace.contracts.approve(SchemaContract.from_dict(FIXED))
    result = CliRunner().invoke(app, ["quarantine", "replay", "--parser", "smallbad"])
    assert result.exit_code == 1
    assert (
        "smallbad/extra: not replayed, 1 row stay quarantined: no approved contract "
        "'smallbad.extra' for output 'extra' of parser 'smallbad': approve one with "
        "`casparian schema approve`"
    ) in result.output
    assert "smallbad/rows: 2 of 3 rows now pass smallbad v1; 1 stay quarantined" in result.output
    assert "error: 1 of 2 outputs could not replay" in result.output


def test_show_prints_the_parsers_reason_for_a_flagged_row(home: Path) -> None:
    table = pa.table(
        {"n": ["1", "2"], "_cf_row": [1, 2], "_cf_row_error": [None, "line 2 is not a reading"]}
    )
    _, flagged = split_parser_flagged(table)
    with Workspace.open(home) as workspace:
        StoreQuarantineWriter(workspace.store).write(flagged, _lineage("rows", None))
        (row,) = workspace.quarantine.list(QuarantineFilter())
    result = CliRunner().invoke(app, ["quarantine", "show", str(row.id)])
    assert result.exit_code == 0
    assert "  parser_flagged  line 2 is not a reading" in result.output
    assert "None" not in result.output


def test_list_defaults_to_the_current_parser_version(home: Path, tmp_path: Path) -> None:
    with Workspace.open(home) as workspace:
        workspace.parsers.register(_parser_folder(tmp_path / "v1"))
        newer = _parser_folder(tmp_path / "v2")
        for name in ("smallbad.py", "pyproject.toml"):
            text = (newer / name).read_text().replace("1.0.0", "1.1.0")
            (newer / name).write_text(text)
        uv_lock(newer)
        workspace.parsers.register(newer)
        _quarantine_unapproved(workspace)  # 3 rows of 1.0.0
        strict = SchemaContract.from_dict(STRICT)
        table = pa.table({"n": ["77"], "_cf_row": [1]})
        lineage = _lineage("rows", strict.content_hash, version="1.1.0")
        StoreQuarantineWriter(workspace.store).write(validate(table, strict).quarantined, lineage)
    runner = CliRunner()
    result = runner.invoke(app, ["quarantine", "list"])
    lines = result.output.splitlines()
    assert lines[:2] == [
        "1 quarantined row; showing 1",
        "3 rows of older versions hidden; --all-versions to show",
    ]
    assert "smallbad 1.1.0/rows  /data/small.csv row 1  range:n" in lines[2]
    result = runner.invoke(app, ["quarantine", "list", "--all-versions"])
    assert result.output.splitlines()[0] == "4 quarantined rows; showing 4"
    result = runner.invoke(app, ["quarantine", "list", "--version", "1.0.0", "--json"])
    assert [r["parser_version"] for r in json.loads(result.output)] == ["1.0.0"] * 3
