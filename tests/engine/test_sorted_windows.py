"""Sorted windows deep in a result read the result sorted once (a temporary table of the
catalog, per query and order, the most recent kept), and agree with DuckDB's own ORDER BY."""

from __future__ import annotations

import gc
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_engine.catalog import (
    CATALOG_MEMORY_LIMIT,
    SORTED_RESULTS_KEPT,
    TOP_N_ROWS,
    QueryRefused,
    ReadOnlyCatalog,
)

ROWS = 300_000  # more than two of DuckDB's row groups (122,880 rows)


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out" / "meters" / "lines"
    folder.mkdir(parents=True)
    ids = pa.array(range(ROWS), pa.int64())
    table = pa.table(
        {
            "id": ids,
            "amount": pa.array([(i * 7919) % 1000 / 10 for i in range(ROWS)], pa.float64()),
            "vendor": pa.array([f"v{i % 13}" for i in range(ROWS)]),
        }
    )
    pq.write_table(table.slice(0, ROWS // 2), folder / "part-0.parquet")
    pq.write_table(table.slice(ROWS // 2), folder / "part-1.parquet")
    return tmp_path / "out"


def duckdb_window(output_dir: Path, order_by: str, offset: int, limit: int) -> list[dict]:
    """DuckDB alone, the same rows in the same order (ties broken on every column)."""
    with duckdb.connect() as con:
        return (
            con.sql(
                f"SELECT * FROM read_parquet('{output_dir}/meters/lines/*.parquet')"
                f" ORDER BY {order_by} LIMIT {limit} OFFSET {offset}"
            )
            .to_arrow_table()
            .to_pylist()
        )


def kept_tables(catalog: ReadOnlyCatalog) -> list[str]:
    rows = catalog._sorts.connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY table_name"
    ).fetchall()
    return [name for (name,) in rows]


def test_deep_sorted_windows_match_duckdb_and_sort_once(output_dir: Path) -> None:
    with ReadOnlyCatalog(output_dir) as catalog:
        result = catalog.open_result("SELECT * FROM lines")
        order = [(1, True), (2, False)]  # amount desc, vendor asc, then id
        for offset in (0, TOP_N_ROWS - 100, 122_870, 150_000, ROWS - 5):
            window = result.window(offset, 256, order)
            expected = duckdb_window(output_dir, "2 DESC, 3 ASC, 1", offset, 256)
            assert window.rows.to_pylist() == expected, offset
            assert window.offset == offset and window.truncated_reason == ""
        assert kept_tables(catalog) == ["cf_sorted_1"]  # one sort for every deep window
        assert result.window(ROWS + 10, 50, order).rows.num_rows == 0
        # The same query opened again (a view re-read) reuses the kept sort.
        again = catalog.open_result("SELECT * FROM lines")
        assert again.window(200_000, 3, order).rows.to_pylist() == duckdb_window(
            output_dir, "2 DESC, 3 ASC, 1", 200_000, 3
        )
        assert kept_tables(catalog) == ["cf_sorted_1"]


def test_a_new_order_or_query_sorts_again_and_only_the_latest_are_kept(output_dir: Path) -> None:
    assert SORTED_RESULTS_KEPT == 2
    with ReadOnlyCatalog(output_dir) as catalog:
        result = catalog.open_result("SELECT * FROM lines")
        result.window(50_000, 10, [(1, True)])
        result.window(50_000, 10, [(1, False)])
        assert kept_tables(catalog) == ["cf_sorted_1", "cf_sorted_2"]
        result.window(60_000, 10, [(1, True)])  # kept: most recently used now
        other = catalog.open_result("SELECT id, vendor FROM lines WHERE id % 2 = 0")
        ids = [row["id"] for row in other.window(100_000, 4, [(1, True)]).rows.to_pylist()]
        assert kept_tables(catalog) == ["cf_sorted_1", "cf_sorted_3"]  # amount asc dropped
        with duckdb.connect() as con:
            expected = con.sql(
                f"SELECT id FROM read_parquet('{output_dir}/meters/lines/*.parquet')"
                " WHERE id % 2 = 0 ORDER BY vendor DESC, id LIMIT 4 OFFSET 100000"
            ).fetchall()
        assert ids == [i for (i,) in expected]


def test_deep_sorted_windows_keep_names_blobs_as_hex_and_the_byte_budget(
    output_dir: Path,
) -> None:
    with ReadOnlyCatalog(output_dir) as catalog:
        result = catalog.open_result(
            "SELECT id, id AS id, from_hex('ff00') AS b, repeat('x', 500) AS s FROM lines"
        )
        assert result.columns == ["id", "id_1", "b", "s"]  # DuckDB names a repeated column
        window = result.window(20_000, 300, [(0, True)], byte_budget=50_000)
        assert window.rows.column_names == result.columns
        near_top = result.window(0, 300, [(0, True)], byte_budget=50_000)
        assert near_top.rows.column_names == result.columns
        assert 0 < window.rows.num_rows < 300
        assert window.truncated_reason == "byte budget 50000"
        first = window.rows.slice(0, 1).to_pylist()[0]
        assert window.rows.column(0)[0].as_py() == ROWS - 1 - 20_000
        assert first["b"] == "FF00"


def test_a_deep_sort_over_its_time_limit_is_cancelled_and_the_catalog_still_reads(
    output_dir: Path,
) -> None:
    with ReadOnlyCatalog(output_dir, timeout_s=0.5) as catalog:
        slow = catalog.open_result("SELECT i, hash(i) AS h FROM range(1000000000000) t(i)")
        with pytest.raises(QueryRefused) as info:
            slow.window(50_000, 10, [(1, False)])
        assert str(info.value) == (
            "the query ran for more than 0.5 s and was cancelled (setting query_timeout_s)"
        )
        assert kept_tables(catalog) == []
        result = catalog.open_result("SELECT id FROM lines")
        assert result.window(ROWS - 2, 5, [(0, True)]).rows.column("id").to_pylist() == [1, 0]


def test_the_catalog_bounds_duckdbs_memory(output_dir: Path) -> None:
    with (
        ReadOnlyCatalog(output_dir) as catalog,
        duckdb.connect(config={"memory_limit": CATALOG_MEMORY_LIMIT}) as bounded,
    ):
        (limit,) = catalog.con.execute("SELECT current_setting('memory_limit')").fetchone() or ()
        (expected,) = bounded.execute("SELECT current_setting('memory_limit')").fetchone() or ()
        assert limit == expected
        with pytest.raises(QueryRefused, match="current_setting"):
            catalog.query("SELECT current_setting('memory_limit')")


def test_a_catalog_nobody_closed_is_removed_when_collected(output_dir: Path) -> None:
    catalog = ReadOnlyCatalog(output_dir)
    folder = Path(catalog._tmp.name)
    catalog.open_result("SELECT * FROM lines").window(40_000, 5, [(0, True)])
    assert (folder / "catalog.duckdb").exists()
    del catalog
    gc.collect()
    assert not folder.exists()
