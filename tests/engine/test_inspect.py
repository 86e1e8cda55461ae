"""The Inspect engine: stats, histograms, paging, filters with clear errors, exports."""

from __future__ import annotations

import os
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
    inspector = workspace.outputs.inspector()
    (summary,) = workspace.outputs.tables()
    assert (summary.name, summary.file_count, summary.row_count) == ("lines", 2, 50)
    stats = inspector.column_stats("lines").to_pydict()
    assert stats["column_name"] == ["amount", "vendor"]
    assert stats["min"] == ["0.0", "acme"] and stats["max"] == ["49.0", "zeta"]
    histogram = inspector.histogram("lines", "vendor").to_pydict()
    assert histogram == {"bucket": ["acme", "zeta"], "count": [40, 10],
                         "filter": ['"vendor" = \'acme\'', '"vendor" = \'zeta\'']}  # fmt: skip
    numeric = inspector.histogram("lines", "amount", bins=5).select(["bucket", "count"])
    assert numeric.to_pydict() == {
        "bucket": ["[0, 10]", "(10, 20]", "(20, 30]", "(30, 40]", "(40, 50]"],
        "count": [11, 10, 10, 10, 9],
    }
    assert inspector.row_count("lines", "amount >= 40") == 10


def test_bad_filter_names_table_and_predicate(workspace: Workspace) -> None:
    write_output(workspace)
    inspector = workspace.outputs.inspector()
    with pytest.raises(InspectError) as info:
        inspector.row_count("lines", predicate="no_such_column > 3")
    assert str(info.value).startswith("filter 'no_such_column > 3' on lines: ")
    assert "no_such_column" in str(info.value)
    with pytest.raises(InspectError, match="exactly one statement"):
        inspector.row_count("lines", predicate="1=1); DROP TABLE x; SELECT (1")
    with pytest.raises(InspectError, match=r"no output table named 'nope' \(tables: lines\)"):
        inspector.row_count("nope")


def test_export_parquet_and_csv_of_the_filtered_view(workspace: Workspace, tmp_path: Path) -> None:
    from casparian_engine.export_file import ExportError

    write_output(workspace)
    with workspace.outputs.catalog(with_quarantine=False) as catalog:
        zeta = catalog.open_result("SELECT * FROM lines WHERE (vendor = 'zeta')")
        assert zeta.export(tmp_path / "zeta.parquet") == 10
        every = catalog.open_result("SELECT * FROM lines")
        assert every.export(tmp_path / "all.csv") == 50
        with pytest.raises(ExportError, match=r"must end in \.parquet or \.csv"):
            every.export(tmp_path / "x.json")
        with pytest.raises(ExportError, match="folder does not exist"):
            every.export(tmp_path / "missing" / "x.csv")
    assert pq.read_table(tmp_path / "zeta.parquet").column("amount").to_pylist()[:2] == [0.0, 5.0]
    assert pacsv.read_csv(tmp_path / "all.csv").num_rows == 50
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


def write_typed_output(workspace: Workspace) -> None:
    """120 rows: whole numbers 1..120, a reading every 9 hours from 2023-01-01, 40 days, one
    decimal value, and a text column holding bracketed values."""
    import datetime as dt
    from decimal import Decimal

    folder = workspace.config.output_dir / "meters" / "readings"
    folder.mkdir(parents=True)
    stamps = [dt.datetime(2023, 1, 1) + dt.timedelta(hours=9 * i) for i in range(120)]
    table = pa.table(
        {
            "units": pa.array(range(1, 121), pa.int32()),
            "read_at": pa.array(stamps, pa.timestamp("us")),
            "read_at_utc": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "day": pa.array([dt.date(2023, 1, 1) + dt.timedelta(days=i % 40) for i in range(120)]),
            "price": pa.array([Decimal("12.34")] * 120, pa.decimal128(14, 2)),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")


def test_histograms_bin_integers_dates_and_timestamps_on_round_edges(
    workspace: Workspace,
) -> None:
    write_typed_output(workspace)
    inspector = workspace.outputs.inspector()
    units = inspector.histogram("readings", "units").to_pydict()
    assert units["bucket"] == [f"{lo} – {lo + 9}" for lo in range(1, 120, 10)]
    assert units["count"] == [10] * 12
    days = inspector.histogram("readings", "day", bins=4).select(["bucket", "count"]).to_pydict()
    assert days == {  # round numbers of days from the first day to the last, both ends in
        "bucket": ["2023-01-01 – 2023-01-11", "2023-01-12 – 2023-01-21",
                   "2023-01-22 – 2023-01-31", "2023-02-01 – 2023-02-09"],
        "count": [33, 30, 30, 27],
    }  # fmt: skip
    stamps = inspector.histogram("readings", "read_at", bins=4).to_pydict()
    assert stamps["bucket"][0].startswith("[2023-01-01")
    assert all(label.startswith("(2023-") for label in stamps["bucket"][1:])
    assert sum(stamps["count"]) == 120 and len(stamps["count"]) <= 4
    zoned = inspector.histogram("readings", "read_at_utc", bins=4).to_pydict()
    assert (
        zoned["bucket"] == stamps["bucket"] and zoned["count"] == stamps["count"]
    )  # a zoned column is binned and labelled in UTC
    single = inspector.histogram("readings", "price").select(["bucket", "count"]).to_pydict()
    assert single == {"bucket": ["12.34"], "count": [120]}
    nothing = inspector.histogram("readings", "units", "units > 500").to_pydict()
    assert nothing == {"bucket": [], "count": [], "filter": []}


def test_each_bin_filter_selects_exactly_the_rows_the_bin_counted(workspace: Workspace) -> None:
    write_typed_output(workspace)
    folder = workspace.config.output_dir / "meters" / "readings"
    extra = pa.table({"units": pa.array([None, 3], pa.int32()), "label": ["∅ null", None]})
    pq.write_table(extra, folder / "part-1.parquet")  # a null, and a value that reads '∅ null'
    inspector = workspace.outputs.inspector()
    for column in ("units", "read_at", "read_at_utc", "day", "price", "label"):
        for bins in (3, 12):
            found = inspector.histogram("readings", column, bins=bins).to_pylist()
            assert found, column
            for bucket in found:
                counted = inspector.row_count("readings", bucket["filter"])
                assert counted == bucket["count"], (column, bucket)
    label = inspector.histogram("readings", "label").to_pylist()
    filters = {row["filter"] for row in label}
    assert filters == {'"label" IS NULL', "\"label\" = '∅ null'"}
    units = inspector.histogram("readings", "units", "units <= 20", bins=2).to_pylist()
    assert [row["filter"] for row in units] == [
        '"units" BETWEEN 1 AND 10',
        '"units" BETWEEN 11 AND 20',
    ]


def test_distinct_estimate_never_exceeds_the_row_count(workspace: Workspace) -> None:
    folder = workspace.config.output_dir / "ids" / "seen"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": pa.array(range(973))}), folder / "part-0.parquet")
    stats = workspace.outputs.inspector().column_stats("seen").to_pydict()
    assert stats["count"] == [973]
    assert stats["approx_unique"][0] <= 973


def test_tables_count_the_source_files_behind_their_parts(workspace: Workspace) -> None:
    folder = workspace.config.output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    part = {"amount": pa.array([1.0, 2.0, 3.0]), "_cf_source_hash": pa.array(["a", "a", "b"])}
    pq.write_table(pa.table(part), folder / "part-0.parquet")
    later = {"amount": pa.array([4.0, 5.0]), "_cf_source_hash": pa.array(["b", "c"])}
    pq.write_table(pa.table(later), folder / "part-1.parquet")
    bare = workspace.config.output_dir / "meters" / "readings"  # written without lineage
    bare.mkdir(parents=True)
    pq.write_table(pa.table({"meter": pa.array(["m1"])}), bare / "part-0.parquet")
    summaries = {t.name: t for t in workspace.outputs.tables()}
    lines, readings = summaries["lines"], summaries["readings"]
    assert (lines.file_count, lines.row_count, lines.source_count) == (2, 5, 3)
    assert (readings.file_count, readings.row_count, readings.source_count) == (1, 1, None)
    quick = {t.name: t for t in workspace.outputs.tables(with_sources=False)}
    assert {name: (t.file_count, t.row_count, t.source_count) for name, t in quick.items()} == {
        "lines": (2, 5, None),
        "readings": (1, 1, None),
    }


def test_inspectors_of_several_homes_stay_confined_to_their_own_outputs(tmp_path: Path) -> None:
    """Each output folder has its own confined database (more folders than are kept, and
    cursors still reading on a dropped one): a filter never reads another home's outputs."""
    from casparian_engine.inspect import _CONFINED_KEPT, OutputInspector

    inspectors = []
    for number in range(_CONFINED_KEPT + 2):
        folder = tmp_path / f"home{number}" / "p" / "t"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"x": [number] * (number + 1)}), folder / "a.parquet")
        inspectors.append(OutputInspector(tmp_path / f"home{number}"))
    first = inspectors[0]._connect("t")  # kept open while later folders push its database out
    try:
        for number, inspector in enumerate(inspectors):
            assert inspector.row_count("t") == number + 1
            other = tmp_path / f"home{(number + 1) % len(inspectors)}" / "p" / "t" / "a.parquet"
            with pytest.raises(InspectError, match="file system operations are disabled|access"):
                inspector.row_count("t", f"x IN (SELECT x FROM read_parquet('{other}'))")
        assert first.execute('SELECT count(*) FROM "t"').fetchall() == [(1,)]
    finally:
        first.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_process_forked_after_inspect_reads_on_its_own_databases(tmp_path: Path) -> None:
    """The kept DuckDB databases (parsing, each output folder's) are the parent's: a forked
    child (the worker pool forks) reads on new ones and leaves the inherited ones alone —
    freeing them in the child crashed it (their threads are the parent's)."""
    from casparian_engine.inspect import OutputInspector

    folder = tmp_path / "p" / "t"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2, 3]}), folder / "a.parquet")
    inspector = OutputInspector(tmp_path)
    assert inspector.row_count("t", "x > 1") == 2  # the parent's databases exist now
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            status = 0 if OutputInspector(tmp_path).row_count("t", "x > 2") == 1 else 3
        except BaseException:
            status = 4
        os._exit(status)
    _, status = os.waitpid(child, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert inspector.row_count("t") == 3  # the parent's still read
