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
