"""A query's result described as a table is: its columns' figures (type, min, max, distinct
estimate, nulls, rows) and histograms, computed by DuckDB on the result through the catalog's
guard; every bin's filter, run over the result, selects exactly the rows the bin counted."""

from __future__ import annotations

from decimal import Decimal

import pytest

from casparian_engine.catalog import QueryRefused, ReadOnlyCatalog
from casparian_engine.workspace import Workspace
from tests.engine.test_inspect import write_typed_output


def test_column_stats_describe_the_result_not_the_table(workspace: Workspace) -> None:
    write_typed_output(workspace)  # readings: units 1..120, day over 40 days, price 12.34
    sql = (
        "SELECT units * 10 AS tens, day, CASE WHEN units % 4 = 0 THEN NULL ELSE price END AS price"
        ", units AS units, units AS units FROM readings WHERE units <= 40"
    )
    with ReadOnlyCatalog(workspace.config.output_dir) as catalog:
        result = catalog.open_result(sql)
        stats = result.column_stats().to_pylist()
    assert [(row["column_name"], row["column_type"]) for row in stats] == [
        ("tens", "INTEGER"), ("day", "DATE"), ("price", "DECIMAL(14,2)"), ("units", "INTEGER"),
        ("units_1", "INTEGER"),  # a repeated name, as the grid shows it
    ]  # fmt: skip
    tens, day, price = stats[0], stats[1], stats[2]
    assert (tens["min"], tens["max"], tens["count"]) == ("10", "400", 40)
    assert (day["min"], day["max"]) == ("2023-01-01", "2023-02-09")
    assert price["null_percentage"] == Decimal("25.00") and price["approx_unique"] == 1
    assert all(row["approx_unique"] <= row["count"] for row in stats)


def test_a_sample_reads_part_of_a_big_result(workspace: Workspace) -> None:
    import duckdb

    folder = workspace.config.output_dir / "big" / "numbers"
    folder.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT i AS n FROM range(2000000) t(i)) TO '{folder / 'p.parquet'}'"
            " (FORMAT parquet)"
        )
    with ReadOnlyCatalog(workspace.config.output_dir) as catalog:
        result = catalog.open_result("SELECT n FROM numbers WHERE n % 2 = 0")
        sampled = result.column_stats(sample_percent=1.0).column("count")[0].as_py()
        exact = result.column_stats().column("count")[0].as_py()
    assert 0 < sampled < 100_000 and exact == 1_000_000


def test_each_bin_filter_over_the_result_selects_the_rows_it_counted(
    workspace: Workspace,
) -> None:
    write_typed_output(workspace)
    sql = "SELECT units * 3 AS triple, day, read_at, price, units % 3 AS rest FROM readings"
    with ReadOnlyCatalog(workspace.config.output_dir) as catalog:
        result = catalog.open_result(sql)
        for column in ("triple", "day", "read_at", "price", "rest"):
            buckets = result.histogram(column, bins=5).to_pylist()
            assert buckets and sum(b["count"] for b in buckets) == 120, column
            for bucket in buckets:
                wrapped = catalog.open_result(f"{result.rows_sql} WHERE {bucket['filter']}")
                assert wrapped.row_count() == bucket["count"], (column, bucket)
        rest = result.histogram("rest").select(["bucket", "count"]).to_pydict()
    assert rest == {"bucket": ["0", "1", "2"], "count": [40, 40, 40]}


def test_a_histogram_of_a_column_the_result_lacks_is_refused(workspace: Workspace) -> None:
    write_typed_output(workspace)
    with ReadOnlyCatalog(workspace.config.output_dir) as catalog:
        result = catalog.open_result("SELECT units FROM readings")
        with pytest.raises(QueryRefused, match="the result has no column 'day'"):
            result.histogram("day")


def test_a_float_columns_infinities_and_nans_get_a_bar_each(workspace: Workspace) -> None:
    """No bin holds an infinity or a NaN (DuckDB's equi_width_bins refuses them): the finite
    values are binned and each of -inf, inf and nan gets its own bar, with its own filter."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = workspace.config.output_dir / "meters" / "odd"
    folder.mkdir(parents=True)
    values = [float(i) for i in range(20)] + [float("inf"), float("-inf"), float("nan"), None]
    pq.write_table(pa.table({"reading": pa.array(values, pa.float64())}), folder / "p.parquet")
    inspector = workspace.outputs.inspector()
    found = inspector.histogram("odd", "reading", bins=4).to_pylist()
    assert [(row["bucket"], row["count"]) for row in found] == [
        ("-inf", 1), ("[0, 5]", 6), ("(5, 10]", 5), ("(10, 15]", 5), ("(15, 20]", 4),
        ("inf", 1), ("nan", 1),
    ]  # fmt: skip
    for row in found:
        assert inspector.row_count("odd", row["filter"]) == row["count"], row
    with ReadOnlyCatalog(workspace.config.output_dir) as catalog:
        result = catalog.open_result("SELECT reading::FLOAT AS r FROM odd")
        labels = [row["bucket"] for row in result.histogram("r", bins=4).to_pylist()]
    assert labels[0] == "-inf" and labels[-2:] == ["inf", "nan"]


def test_columns_named_like_the_histograms_own_work_columns(workspace: Workspace) -> None:
    """A result whose columns are called bucket, count and is_null has histograms all the same
    (the histogram's own query groups by position, not by names the data may reuse)."""
    write_typed_output(workspace)
    sql = "SELECT 'v' || (units % 2) AS bucket, 'c' AS count, day AS is_null FROM readings"
    with ReadOnlyCatalog(workspace.config.output_dir) as catalog:
        result = catalog.open_result(sql)
        counted = {
            column: [(row["bucket"], row["count"]) for row in result.histogram(column).to_pylist()]
            for column in ("bucket", "count")
        }
        assert sum(row["count"] for row in result.histogram("is_null").to_pylist()) == 120
    assert counted == {"bucket": [("v0", 60), ("v1", 60)], "count": [("c", 120)]}
