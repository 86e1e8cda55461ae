"""Full prod pipeline vs DuckDB: ``casparian process --parser invoices`` over the demo's invoices.

In one run, on one freshly generated demo: DuckDB ``read_csv`` glob -> one Parquet file of the same
invoice CSVs with the column types given, then with auto-detection, then the real prod pipeline
(registered bundle, warm guests, contract validation, lineage, quarantine in the store, coalesced
Parquet parts) through the worker pool. Prints files/s and rows/s and the ratio to DuckDB.

    .venv/bin/python bench/process.py --jobs 0 --pipeline --files 50000
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

INVOICE_COLUMNS = {
    "invoice_id": "VARCHAR",
    "issued_on": "DATE",
    "customer_id": "VARCHAR",
    "sku": "VARCHAR",
    "description": "VARCHAR",
    "quantity": "BIGINT",
    "unit_price": "DECIMAL(12,2)",
    "amount": "DECIMAL(12,2)",
    "currency": "VARCHAR",
}


def duckdb_to_parquet(glob: str, target: Path, typed: bool) -> tuple[float, int]:
    """Seconds and rows for DuckDB's read_csv glob -> Parquet (bad rows skipped, as DuckDB can)."""
    import duckdb

    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in INVOICE_COLUMNS.items())
    options = f"header = true, columns = {{{columns}}}" if typed else "auto_detect = true"
    connection = duckdb.connect()
    started = time.perf_counter()
    connection.execute(
        f"COPY (SELECT * FROM read_csv('{glob}', {options}, ignore_errors = true)) "
        f"TO '{target}' (FORMAT parquet)"
    )
    seconds = time.perf_counter() - started
    (rows,) = connection.execute(f"SELECT count(*) FROM '{target}'").fetchone()  # type: ignore[misc]
    connection.close()
    return seconds, int(rows)


def bench_pipeline(file_count: int, workers: int) -> None:
    from casparian_engine.demo.home import create_demo_workspace
    from casparian_engine.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="casparian-bench-pipeline-") as scratch:
        root = Path(scratch) / "demo"
        started = time.perf_counter()
        demo = create_demo_workspace(root, file_count)
        print(f"demo with {file_count:,} files ready in {time.perf_counter() - started:.1f}s")
        glob = str(demo.demo.files_dir / "invoices" / "**" / "*.csv")
        invoices = len(list((demo.demo.files_dir / "invoices").rglob("*.csv")))
        typed_s, typed_rows = duckdb_to_parquet(glob, Path(scratch) / "typed.parquet", True)
        auto_s, auto_rows = duckdb_to_parquet(glob, Path(scratch) / "auto.parquet", False)
        with Workspace.open(demo.home_dir) as workspace:
            started = time.perf_counter()
            summary = workspace.jobs.process("invoices", workers=workers)
            prod_s = time.perf_counter() - started  # queueing the matched files included
        parts = list((demo.home_dir / "output" / "invoices").rglob("part-*.parquet"))
        for label, seconds, rows in (
            ("DuckDB read_csv -> Parquet, types given", typed_s, typed_rows),
            ("DuckDB read_csv -> Parquet, auto-detect", auto_s, auto_rows),
        ):
            print(
                f"{label:<44} {invoices:>7,} files {seconds:6.2f}s = {invoices / seconds:8,.0f} "
                f"files/s {rows / seconds:10,.0f} rows/s"
            )
        print(
            f"{'casparian process --parser invoices':<44} {summary.jobs_finished:>7,} files "
            f"{prod_s:6.2f}s = {summary.jobs_finished / prod_s:8,.0f} files/s "
            f"{summary.rows_written / prod_s:10,.0f} rows/s  ({workers} workers; "
            f"{prod_s - summary.elapsed_s:.2f}s of it queueing)"
        )
        print(
            f"  {summary.rows_written:,} rows written in {len(parts):,} Parquet parts, "
            f"{summary.rows_quarantined:,} quarantined; {summary.counts}"
        )
        print(
            f"  prod / DuckDB typed = {prod_s / typed_s:.2f}x (target <= 1.5x); "
            f"prod / DuckDB auto-detect = {prod_s / auto_s:.2f}x"
        )
