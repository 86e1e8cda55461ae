"""A quarantined row points at its source as "line N" when the parser numbered its rows by line
(it set ``_cf_row``) and as "row N" when the executor numbered them by position; the store keeps
which, and `casparian quarantine list/show` say it. Real parsers, real guests, real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.contracts import SchemaContract
from casparian_engine.source_lines import read_source_line, source_pointer
from casparian_engine.store.quarantine import QuarantineFilter
from casparian_engine.workspace import Workspace

from .registration_support import CONTRACT, make_parser

# Line 1 is the header, so the bad row (id 2) is the parser's 2nd row but the file's 3rd line.
INVOICE = "id,amount\n1,10.5\n2,x\n3,7\n"
# More rows than a packed frame holds (prod PACK_ROWS), so the file's rows travel on their own.
BIG_INVOICE = INVOICE + "".join(f"{n},7\n" for n in range(4, 70_004))
SIZES = pytest.mark.parametrize("text", [INVOICE, BIG_INVOICE], ids=["packed", "alone"])
LINE_NUMBERS = """\
import pyarrow as pa
table = pv.read_csv(path)
return table.append_column("_cf_row", pa.array(range(2, table.num_rows + 2), pa.int64()))"""


def _quarantine_with(home: Path, tmp_path: Path, body: str, text: str) -> tuple[int, Path]:
    """Process one invoice with a parser of ``body``; the quarantined row's id and the file."""
    data = tmp_path / "data" / "invoices"
    data.mkdir(parents=True)
    source = data / "inv.csv"
    source.write_text(text)
    with Workspace.open(home) as workspace:
        workspace.files.scan(tmp_path / "data")
        workspace.parsers.register(make_parser(tmp_path / "parser", body=body))
        workspace.contracts.approve(SchemaContract.from_yaml(CONTRACT))
        summary = workspace.jobs.process(workers=1)
        assert summary.rows_quarantined == 1
        (row,) = workspace.quarantine.list(QuarantineFilter())
    return row.id, source


def _list_and_show(row_id: int) -> tuple[str, str]:
    runner = CliRunner()
    listed = runner.invoke(app, ["quarantine", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    shown = runner.invoke(app, ["quarantine", "show", str(row_id)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    return listed.output, shown.output


@SIZES
def test_rows_the_executor_numbered_are_rows(home: Path, tmp_path: Path, text: str) -> None:
    row_id, source = _quarantine_with(home, tmp_path, "", text)
    listed, shown = _list_and_show(row_id)
    assert f"{row_id:>8}  job " in listed
    assert f"  {source} row 2  cast:amount" in listed
    assert shown.splitlines()[0] == f"quarantined row {row_id}: {source} row 2"
    assert " line " not in listed + shown
    with Workspace.open(home) as workspace:
        row = workspace.quarantine.get(row_id)
    assert row is not None and (row.source_row, row.source_row_unit) == (2, "row")
    assert row.to_dict()["source_row_unit"] == "row"


@SIZES
def test_rows_the_parser_numbered_are_lines(home: Path, tmp_path: Path, text: str) -> None:
    row_id, source = _quarantine_with(home, tmp_path, LINE_NUMBERS, text)
    listed, shown = _list_and_show(row_id)
    assert f"  {source} line 3  cast:amount" in listed
    assert shown.splitlines()[0] == f"quarantined row {row_id}: {source} line 3"
    assert " row 3" not in listed + shown
    as_json = CliRunner().invoke(app, ["quarantine", "show", str(row_id), "--json"])
    document = json.loads(as_json.output)
    assert (document["source_row"], document["source_row_unit"]) == (3, "line")
    # the line a line pointer names is the quarantined row itself
    assert read_source_line(source, document["source_row"]).text == "2,x"


def test_pointer_wording() -> None:
    assert source_pointer(12, "line") == "line 12"
    assert source_pointer(12, "row") == "row 12"
    assert source_pointer(12) == "row 12"
    assert source_pointer(None, "line") == "row ?"


def test_an_unknown_unit_is_refused(home: Path) -> None:
    import pyarrow as pa

    table = pa.table(
        {"_cf_row": [1], "rules": ["cast"], "violations": ["[]"], "row_values": ["{}"]}
    )
    with Workspace.open(home) as workspace, pytest.raises(ValueError) as info:
        workspace.store.quarantine.add(7, "p", "1", "o", None, "/f", "h", table, "page")
    assert str(info.value) == "source_row_unit must be 'line' or 'row', got 'page'"
