"""The Inspect engine: stats, histograms, paging, filters with clear errors, exports."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from casparian_engine.inspect import InspectError, OutputInspector
from casparian_engine.workspace import Workspace


def write_output(workspace: Workspace, rows: int = 50) -> Path:
    folder = workspace.config.output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    table = pa.table(
        {
            "amount": pa.array([float(i) for i in range(rows)]),
            "vendor": pa.array(["acme" if i % 5 else "zeta" for i in range(rows)]),
        }
    )
    pq.write_table(table.slice(0, rows // 2), folder / "part-0.parquet")
    pq.write_table(table.slice(rows // 2), folder / "part-1.parquet")
    return folder


def test_tables_stats_histogram_and_pages(workspace: Workspace) -> None:
    write_output(workspace)
    inspector = workspace.output_inspector()
    (summary,) = workspace.output_tables()
    assert (summary.name, summary.file_count, summary.row_count) == ("lines", 2, 50)
    stats = inspector.column_stats("lines").to_pydict()
    assert stats["column_name"] == ["amount", "vendor"]
    assert stats["min"] == ["0.0", "acme"] and stats["max"] == ["49.0", "zeta"]
    histogram = inspector.histogram("lines", "vendor").to_pydict()
    assert histogram == {"bucket": ["acme", "zeta"], "count": [40, 10]}
    numeric = inspector.histogram("lines", "amount", bins=5).to_pydict()
    assert numeric["count"] == [10, 10, 10, 10, 10]
    page = inspector.rows("lines", offset=10, limit=5, predicate="vendor = 'acme'")
    assert page.column("amount").to_pylist() == [13.0, 14.0, 16.0, 17.0, 18.0]
    assert inspector.row_count("lines", "amount >= 40") == 10


def test_bad_filter_names_table_and_predicate(workspace: Workspace) -> None:
    write_output(workspace)
    inspector = workspace.output_inspector()
    with pytest.raises(InspectError) as info:
        inspector.rows("lines", predicate="no_such_column > 3")
    assert str(info.value).startswith("filter 'no_such_column > 3' on lines: ")
    assert "no_such_column" in str(info.value)
    with pytest.raises(InspectError, match="exactly one statement"):
        inspector.rows("lines", predicate="1=1); DROP TABLE x; SELECT (1")
    with pytest.raises(InspectError, match=r"no output table named 'nope' \(tables: lines\)"):
        inspector.rows("nope")


def test_export_parquet_and_csv_of_the_filtered_view(workspace: Workspace, tmp_path: Path) -> None:
    write_output(workspace)
    inspector = OutputInspector(workspace.config.output_dir)
    assert inspector.export("lines", tmp_path / "zeta.parquet", "vendor = 'zeta'") == 10
    assert pq.read_table(tmp_path / "zeta.parquet").column("amount").to_pylist()[:2] == [0.0, 5.0]
    assert inspector.export("lines", tmp_path / "all.csv") == 50
    assert pacsv.read_csv(tmp_path / "all.csv").num_rows == 50
    with pytest.raises(InspectError, match=r"must end in \.parquet or \.csv"):
        inspector.export("lines", tmp_path / "x.json")
    with pytest.raises(InspectError, match="folder does not exist"):
        inspector.export("lines", tmp_path / "missing" / "x.csv")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["all.csv", "zeta.parquet"]


def test_a_filter_cannot_read_files_outside_the_outputs(tmp_path: Path) -> None:
    output = tmp_path / "output" / "p" / "t"
    output.mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2]}), output / "part.parquet")
    secret = tmp_path / "secret.csv"
    secret.write_text("s\n1\n")
    inspector = OutputInspector(tmp_path / "output")
    with pytest.raises(InspectError, match="file system operations are disabled"):
        inspector.row_count("t", f"x IN (SELECT s FROM read_csv('{secret}'))")
    assert inspector.row_count("t", "x > 1") == 1
