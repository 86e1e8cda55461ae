"""Per-core throughput of the prod path on big files: the figures behind docs/SCALE-OUT.md.

Writes ``--files`` CSV inputs of about ``--mb`` MB each (an int64 id and a float64 amount per row),
registers a Level-2 parser reading them with pyarrow (its contract approved), and processes them
with ``casparian process --workers N`` through real guests, contract validation, lineage and
coalesced Parquet parts. Prints files/s, rows/s, input MB/s and output MB/s in total and per worker
process, beside the same files read by pyarrow alone (read_csv → Parquet) in this process.

    .venv/bin/python bench/scale.py                          # 8 files of 25 MB, 1 worker
    .venv/bin/python bench/scale.py --files 16 --workers 2 --store postgresql://USER@HOST/DB
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.csv as pv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from casparian_engine.contracts import SchemaContract  # noqa: E402
from casparian_engine.workspace import Workspace  # noqa: E402
from tests.engine.registration_support import make_parser  # noqa: E402
from tests.pg_cluster import drop_database, fresh_database  # noqa: E402

ROW_BYTES = 22  # about, for "12345678,12345.678901\n"


def write_inputs(folder: Path, files: int, mb: float) -> tuple[int, int]:
    """``files`` CSVs under ``folder/invoices``; total rows and bytes."""
    rows_per_file = int(mb * 1_000_000 / ROW_BYTES)
    total_rows = total_bytes = 0
    for index in range(files):
        start = index * rows_per_file
        ids = pa.array(range(start, start + rows_per_file), pa.int64())
        amounts = pc.multiply(pc.cast(ids, pa.float64()), 0.001)
        path = folder / "invoices" / f"batch-{index:04d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pv.write_csv(pa.table({"id": ids, "amount": amounts}), path)
        total_rows += rows_per_file
        total_bytes += path.stat().st_size
    return total_rows, total_bytes


def pyarrow_alone(folder: Path, target: Path) -> float:
    """Seconds for pyarrow to read every input and write one Parquet file per input."""
    target.mkdir()
    started = time.perf_counter()
    for path in sorted((folder / "invoices").glob("*.csv")):
        pq.write_table(pv.read_csv(path), target / f"{path.stem}.parquet")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--mb", type=float, default=25.0, help="size of each input file")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--store", help="a PostgreSQL server (a fresh database on it)")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = str(REPO_ROOT)
    with tempfile.TemporaryDirectory(prefix="casparian-bench-scale-") as scratch:
        root = Path(scratch)
        rows, in_bytes = write_inputs(root / "inputs", args.files, args.mb)
        print(f"{args.files} files, {in_bytes / 1e6:,.0f} MB, {rows:,} rows")
        alone_s = pyarrow_alone(root / "inputs", root / "alone")
        database = f"cf_bench_scale_{os.getpid()}"
        if args.store:
            os.environ["CASPARIAN_STORE_URL"] = fresh_database(args.store, database)
        try:
            folder = make_parser(root / "parser")
            with Workspace.open(root / "home") as workspace:
                contract = (folder / "invoices.contract.yaml").read_text()
                workspace.contracts.approve(SchemaContract.from_yaml(contract))
                workspace.parsers.register(folder)
                workspace.files.scan(root / "inputs")
                workspace.parsers.environment("invoices")  # built once, before the clock starts
                started = time.perf_counter()
                summary = workspace.jobs.process("invoices", workers=args.workers)
                prod_s = time.perf_counter() - started
        finally:
            if args.store:
                os.environ.pop("CASPARIAN_STORE_URL")
                drop_database(args.store, database)
        out_bytes = sum(p.stat().st_size for p in (root / "home" / "output").rglob("*.parquet"))
        assert summary.rows_written == rows, summary
        for label, seconds in (
            ("pyarrow read_csv -> Parquet, this process", alone_s),
            (f"casparian process, {args.workers} worker(s)", prod_s),
        ):
            print(
                f"{label:<42} {seconds:6.2f}s  {args.files / seconds:6.2f} files/s  "
                f"{rows / seconds:11,.0f} rows/s  {in_bytes / 1e6 / seconds:6.1f} MB/s in"
            )
        print(
            f"  per worker: {rows / prod_s / args.workers:,.0f} rows/s, "
            f"{in_bytes / 1e6 / prod_s / args.workers:.1f} MB/s in, "
            f"{out_bytes / 1e6 / prod_s / args.workers:.1f} MB/s of Parquet out "
            f"({out_bytes / 1e6:,.0f} MB written, lineage columns included)"
        )


if __name__ == "__main__":
    main()
