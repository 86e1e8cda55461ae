"""Reading a guarded query's result window by window: counts, sorted windows, exports, the
quarantine as a table, and column names for completion — all through the catalog's guard."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from casparian_engine.catalog import QueryRefused, ReadOnlyCatalog
from casparian_engine.contracts import SchemaContract, validate
from casparian_engine.runner.quarantine import RowLineage, StoreQuarantineWriter
from casparian_engine.workspace import Workspace

METERS = SchemaContract.from_dict(
    {
        "name": "meters",
        "columns": [{"name": "id", "type": "int64"}, {"name": "reading", "type": "float64"}],
    }
)


def quarantine_file(workspace: Workspace, source: Path, bad_rows: int) -> None:
    """A real CSV whose rows alternate a bad reading ('x') and a good one, validated for real:
    the bad ones are quarantined with lines 2, 4, ..."""
    values = ["x" if i % 2 == 0 else "150" for i in range(bad_rows)]
    source.write_text("id,reading\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    table = pa.table({"id": [str(i) for i in range(bad_rows)], "reading": values,
                      "_cf_row": [i + 2 for i in range(bad_rows)]})  # fmt: skip
    result = validate(table, METERS)
    lineage = RowLineage(
        str(source), "abc", 7, "meters", "1.0", "meters", METERS.content_hash, "line"
    )
    StoreQuarantineWriter(workspace.store).write(result.quarantined, lineage)


def write_lines(output_dir: Path, rows: int = 5000) -> None:
    folder = output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "vendor": pa.array([f"v{i % 7}" for i in range(rows)]),
            "amount": pa.array([float((i * 37) % 1000) for i in range(rows)]),
        }
    )
    pq.write_table(table.slice(0, rows // 2), folder / "part-0.parquet")
    pq.write_table(table.slice(rows // 2), folder / "part-1.parquet")


def test_windows_anywhere_in_the_result_in_file_order(tmp_path: Path) -> None:
    write_lines(tmp_path)
    with ReadOnlyCatalog(tmp_path) as catalog:
        result = catalog.open_result("SELECT id, vendor FROM lines WHERE id % 2 = 0")
        assert result.columns == ["id", "vendor"]
        assert result.row_count() == 2500
        window = result.window(2490, 50)
        assert window.offset == 2490 and window.truncated_reason == ""
        assert window.rows.column("id").to_pylist() == list(range(4980, 5000, 2))


def test_a_sorted_window_breaks_ties_on_every_column(tmp_path: Path) -> None:
    write_lines(tmp_path)
    with ReadOnlyCatalog(tmp_path) as catalog:
        result = catalog.open_result("SELECT vendor, id FROM lines")
        first = result.window(0, 3, order=[(0, True)]).rows.to_pylist()
        assert first == [{"vendor": "v6", "id": 6}, {"vendor": "v6", "id": 13},
                         {"vendor": "v6", "id": 20}]  # fmt: skip
        last = result.window(4998, 10, order=[(1, True)]).rows.column("id").to_pylist()
        assert last == [1, 0]


def test_windows_go_through_the_guard_and_its_byte_budget(tmp_path: Path) -> None:
    write_lines(tmp_path)
    with ReadOnlyCatalog(tmp_path) as catalog:
        with pytest.raises(QueryRefused, match=r"table function read_csv\(\) is not allowed"):
            catalog.open_result("SELECT * FROM read_csv('/etc/passwd')")
        with pytest.raises(QueryRefused, match="only SELECT queries are allowed"):
            catalog.open_result("DELETE FROM lines")
        wide = catalog.open_result("SELECT repeat('x', 1000) AS s FROM range(5000)")
        window = wide.window(0, 2000, byte_budget=100_000)
        assert 0 < window.rows.num_rows < 2000
        assert window.truncated_reason == "byte budget 100000"


def test_a_result_exports_whole_in_its_sort_order(tmp_path: Path) -> None:
    write_lines(tmp_path)
    target = tmp_path / "out.csv"
    with ReadOnlyCatalog(tmp_path) as catalog:
        result = catalog.open_result("SELECT id, amount FROM lines WHERE vendor = 'v3'")
        assert result.export(target, order=[(1, False)]) == result.row_count() == 714
    exported = pacsv.read_csv(target)
    amounts = exported.column("amount").to_pylist()
    assert amounts == sorted(amounts) and exported.num_rows == 714
    assert not (tmp_path / ".out.csv.partial").exists()


def test_the_quarantine_is_a_table_beside_the_outputs(workspace: Workspace, tmp_path: Path) -> None:
    write_lines(workspace.config.output_dir, rows=10)
    quarantine_file(workspace, tmp_path / "meters.csv", 4)
    with workspace.outputs.catalog() as catalog:
        assert catalog.column_names()["quarantine"][:3] == ["id", "job_id", "parser_name"]
        assert catalog.column_names()["lines"] == ["id", "vendor", "amount"]
        result = catalog.query(
            "SELECT source_row, row_values->>'reading' AS reading, rules FROM quarantine"
            " ORDER BY source_row"
        )
    assert [row["source_row"] for row in result.rows] == [2, 4]
    assert [row["reading"] for row in result.rows] == ["x", "x"]
    assert all(row["rules"] for row in result.rows)
    with workspace.outputs.catalog(with_quarantine=False) as catalog:
        with pytest.raises(QueryRefused, match="unknown table 'quarantine'"):
            catalog.query("SELECT * FROM quarantine")


def test_an_output_named_quarantine_keeps_its_name(workspace: Workspace, tmp_path: Path) -> None:
    folder = workspace.config.output_dir / "p" / "quarantine"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"mine": [1]}), folder / "a.parquet")
    quarantine_file(workspace, tmp_path / "meters.csv", 2)
    with workspace.outputs.catalog() as catalog:
        assert catalog.quarantine_table == "cf_quarantine"
        assert catalog.query("SELECT * FROM quarantine").rows == [{"mine": 1}]
        violations = catalog.query("SELECT violations FROM cf_quarantine LIMIT 1").rows
    assert isinstance(json.loads(violations[0]["violations"]), list)


def test_an_export_keeps_blobs_binary_and_refuses_a_wrong_name(tmp_path: Path) -> None:
    from casparian_engine.export_file import ExportError

    write_lines(tmp_path, rows=3)
    with ReadOnlyCatalog(tmp_path) as catalog:
        result = catalog.open_result("SELECT id, from_hex('ff00') AS b FROM lines")
        assert result.window(0, 1).rows.column("b").to_pylist() == ["FF00"]  # shown as hex
        assert result.export(tmp_path / "b.parquet") == 3
        with pytest.raises(ExportError, match=r"must end in \.parquet or \.csv"):
            result.export(tmp_path / "b.txt")
    assert pq.read_table(tmp_path / "b.parquet").column("b").to_pylist() == [b"\xff\x00"] * 3
    assert not (tmp_path / "b.txt").exists()
