"""Inspect's column stats are DuckDB SUMMARIZE's figures that it shows (min, max, distinct
estimate, rows, null %), the same values for every kind of column, computed in one scan."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_engine.inspect import InspectError
from casparian_engine.workspace import Workspace

ROWS = 3000
FIGURES = ["column_name", "column_type", "min", "max", "approx_unique", "count", "null_percentage"]


def write_kinds(workspace: Workspace) -> str:
    folder = workspace.config.output_dir / "kinds" / "mixed"
    folder.mkdir(parents=True)
    i = range(ROWS)
    table = pa.table(
        {
            "id": pa.array(i, pa.int64()),
            "amount": pa.array([None if n % 3 == 0 else n * 1.5 for n in i], pa.float64()),
            "price": pa.array([Decimal(n) / 4 for n in i], pa.decimal128(10, 2)),
            "vendor": pa.array([f"v{n % 7}" for n in i]),
            "day": pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=n) for n in i]),
            "at": pa.array(
                [dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n) for n in i],
                pa.timestamp("us", tz="UTC"),
            ),  # fmt: skip
            "flag": pa.array([n % 2 == 0 for n in i]),
            "raw": pa.array([bytes([n % 256]) for n in i], pa.binary()),
            "tags": pa.array([[n, n + 1] for n in i], pa.list_(pa.int64())),
            "pair": pa.array([{"a": n, "b": "x"} for n in i]),
            "nothing": pa.array([None] * ROWS, pa.int32()),
        }
    )
    pq.write_table(table.slice(0, ROWS // 2), folder / "part-0.parquet")
    pq.write_table(table.slice(ROWS // 2), folder / "part-1.parquet")
    return str(folder / "*.parquet")


def summarize(pattern: str, where: str = "") -> pa.Table:
    """DuckDB's own SUMMARIZE of the same rows, its columns that Inspect shows."""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        found = con.sql(
            f"SUMMARIZE SELECT * FROM read_parquet('{pattern}', union_by_name = true) {where}"
        ).to_arrow_table()
    capped = pa.array(
        [min(a, c) for a, c in zip(found["approx_unique"].to_pylist(), found["count"].to_pylist(),
                                   strict=True)], pa.int64()
    )  # fmt: skip
    found = found.set_column(found.schema.get_field_index("approx_unique"), "approx_unique", capped)
    return found.select(FIGURES)


def test_the_stats_are_summarizes_figures_for_every_kind_of_column(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    pattern = write_kinds(workspace)
    inspector = workspace.outputs.inspector()
    stats = inspector.column_stats("mixed")
    assert stats.column_names == FIGURES
    expected = summarize(pattern)
    for column in ("column_name", "column_type", "approx_unique", "count", "null_percentage"):
        assert stats[column].to_pylist() == expected[column].to_pylist(), column
    same_zone = [name != "at" for name in stats["column_name"].to_pylist()]
    for column in ("min", "max"):  # a timestamp's text follows the session's time zone
        ours = [v for v, keep in zip(stats[column].to_pylist(), same_zone, strict=True) if keep]
        theirs = [v for v, keep in zip(expected[column].to_pylist(), same_zone, strict=True)
                  if keep]  # fmt: skip
        assert ours == theirs, column
    by_name = {row["column_name"]: row for row in stats.to_pylist()}
    assert by_name["amount"]["null_percentage"] == Decimal("33.33")
    assert by_name["nothing"]["min"] is None and by_name["nothing"]["approx_unique"] == 0
    assert by_name["id"]["approx_unique"] <= ROWS and by_name["id"]["max"] == str(ROWS - 1)

    # Sampling every row group: the footers' figures read exactly as the scan's.
    assert inspector.column_stats("mixed", sample_percent=100.0).equals(stats)

    filtered = inspector.column_stats("mixed", "id >= 2000 AND vendor <> 'v0'")
    expected = summarize(pattern, "WHERE id >= 2000 AND vendor <> 'v0'")
    assert filtered["count"].to_pylist() == expected["count"].to_pylist()
    assert filtered["min"][0].as_py() == "2000" and filtered["max"][0].as_py() == "2999"
    assert filtered["null_percentage"].to_pylist() == expected["null_percentage"].to_pylist()


def test_sampled_stats_read_spread_row_groups_and_exact_footer_figures(
    workspace: Workspace,
) -> None:
    folder = workspace.config.output_dir / "big" / "rows"
    folder.mkdir(parents=True)
    n = pa.array(range(500_000), pa.int64())
    table = pa.table(
        {
            "n": n,
            "half": pa.array([None if i % 2 else i / 2 for i in range(500_000)], pa.float64()),
            "day": pa.array(
                [dt.date(2020, 1, 1) + dt.timedelta(days=i // 1000) for i in range(500_000)]
            ),  # fmt: skip
            "word": pa.array([f"w{i // 10_000:03d}" for i in range(500_000)]),
        }
    )
    pq.write_table(table.slice(0, 250_000), folder / "a.parquet", row_group_size=10_000)
    pq.write_table(table.slice(250_000), folder / "b.parquet", row_group_size=10_000)
    inspector = workspace.outputs.inspector()
    exact = {row["column_name"]: row for row in inspector.column_stats("rows").to_pylist()}
    sampled = {
        row["column_name"]: row
        for row in inspector.column_stats("rows", sample_percent=10.0).to_pylist()
    }
    # 5 of the 50 row groups were read (none of the first or last): the distinct counts say so.
    assert sampled["n"]["approx_unique"] < 60_000 < exact["n"]["approx_unique"]
    # Rows, nulls and the ends of numbers and dates come exact from the footers.
    for column in ("n", "half", "day"):
        for figure in ("min", "max", "count", "null_percentage"):
            assert sampled[column][figure] == exact[column][figure], (column, figure)
    assert (sampled["n"]["min"], sampled["n"]["max"]) == ("0", "499999")
    assert sampled["half"]["null_percentage"] == Decimal("50.00")
    # Text ends come from the sample (a writer may cut long text in a footer).
    assert "w000" < sampled["word"]["min"] <= sampled["word"]["max"] < "w049"

    (filtered,) = [
        row
        for row in inspector.column_stats("rows", "n >= 100000", sample_percent=10.0).to_pylist()
        if row["column_name"] == "n"
    ]
    assert 0 < filtered["count"] < 400_000 and int(filtered["min"]) >= 100_000
    # The sample is read where no file can be: a filter reading one is refused.
    part = folder / "a.parquet"
    with pytest.raises(InspectError, match="file system operations are disabled"):
        inspector.column_stats(
            "rows", f"n IN (SELECT n FROM read_parquet('{part}'))", sample_percent=10.0
        )
    with pytest.raises(InspectError) as info:
        inspector.column_stats("rows", "no_such > 1", sample_percent=1.0)
    assert str(info.value).startswith("filter 'no_such > 1' on rows: ")
    assert "no_such" in str(info.value)


def test_parts_of_differing_schemas_are_sampled_by_duckdb(workspace: Workspace) -> None:
    folder = workspace.config.output_dir / "mixed" / "parts"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"n": pa.array(range(300_000), pa.int64())}), folder / "a.parquet")
    later = {"n": pa.array(range(300_000), pa.int64()), "extra": pa.array(["x"] * 300_000)}
    pq.write_table(pa.table(later), folder / "b.parquet")
    inspector = workspace.outputs.inspector()
    stats = inspector.column_stats("parts", sample_percent=5.0).to_pylist()
    assert [row["column_name"] for row in stats] == ["n", "extra"]
    assert 0 < stats[0]["count"] < 600_000
    assert inspector.column_stats("parts").to_pylist()[1]["null_percentage"] == Decimal("50.00")
