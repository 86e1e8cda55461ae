"""Bridge throughput beside DuckDB in the same run: (a) one big CSV, (b) many small CSVs.

    .venv/bin/python bench/run.py                      # full size: 10M rows; 50,000 files
    .venv/bin/python bench/run.py --rows 1000000 --files 2000   # quick

Each case runs ``casparian run``'s engine (one warm guest parsing with pyarrow, the host writing
Parquet) and DuckDB's ``read_csv`` -> Parquet over the same files, and prints rows/s, files/s and
the ratio. Peak RSS of the host process and of the guest are printed for case (a).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from casparian_engine.config import Config, Settings
from casparian_engine.runner.dev import DevRunOptions, resolve_inputs, run_parser

WORK = Path(__file__).resolve().parent / ".work"
PARSER = Path(__file__).resolve().parent / "parsers" / "arrow_csv.py"
COLUMN_TYPES = (
    "{'id': 'BIGINT', 'name': 'VARCHAR', 'amount': 'DOUBLE', 'day': 'DATE', 'flag': 'BOOLEAN'}"
)


def make_table(rows: int, offset: int = 0) -> pa.Table:
    """Deterministic rows: int, text, float, date, bool — built with vector kernels."""
    ids = pa.array(range(offset, offset + rows), pa.int64())
    names = pc.binary_join_element_wise(
        "customer-", pc.cast(pc.bit_wise_and(ids, 1023), pa.string()), ""
    )
    amounts = pc.divide(pc.cast(pc.bit_wise_and(ids, 65535), pa.float64()), 7.0)
    days = pc.cast(pc.cast(pc.add(pc.bit_wise_and(ids, 4095), 18000), pa.int32()), pa.date32())
    flags = pc.equal(pc.bit_wise_and(ids, 1), 0)
    return pa.table({"id": ids, "name": names, "amount": amounts, "day": days, "flag": flags})


def big_csv(rows: int) -> Path:
    path = WORK / f"big-{rows}.csv"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        with pcsv.CSVWriter(path.with_suffix(".tmp"), make_table(0).schema) as writer:
            for start in range(0, rows, 1_000_000):
                writer.write_table(make_table(min(1_000_000, rows - start), start))
        path.with_suffix(".tmp").rename(path)
    return path


def small_csvs(files: int, rows_per_file: int = 100) -> Path:
    folder = WORK / f"small-{files}x{rows_per_file}"
    if not folder.exists():
        staging = folder.with_suffix(".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        for index in range(files):
            sub = staging / f"d{index // 1000:03d}"
            if index % 1000 == 0:
                sub.mkdir(parents=True)
            pcsv.write_csv(
                make_table(rows_per_file, index * rows_per_file), sub / f"f{index:06d}.csv"
            )
        staging.rename(folder)
    return folder


def bridge(inputs: list[Path], out: Path) -> tuple[float, int, int]:
    """Seconds, rows written and guests used by the dev-loop engine (lineage, Parquet)."""
    config = Config(home=out / "home", settings=dataclasses.replace(Settings()))
    started = time.perf_counter()
    options = DevRunOptions(sink_uri=f"parquet://{out / 'bridge'}", force=True)
    summary = run_parser(config, PARSER, inputs, options)
    seconds = time.perf_counter() - started
    if summary.failure is not None:
        raise SystemExit(f"bridge run failed: {summary.failure.kind}: {summary.failure.message}")
    return seconds, summary.rows_written, summary.guests


def bridge_big_in_child(rows: int, out: Path) -> dict[str, float]:
    """Case (a) in a fresh process: its peak RSS is the host's, its children's the guest's."""
    path = big_csv(rows)
    command = [sys.executable, __file__, "--child-big", str(path), "--child-out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def child_big(path: Path, out: Path) -> None:
    seconds, rows, _guests = bridge([path], out)
    figures = {
        "seconds": seconds,
        "rows": rows,
        "host_rss_mb": peak_rss_mb(resource.RUSAGE_SELF),
        "guest_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN),
    }
    print(json.dumps(figures))


def duckdb_copy(source: str, out: Path, typed: bool) -> float:
    columns = f", columns = {COLUMN_TYPES}, header = true" if typed else ""
    connection = duckdb.connect()
    started = time.perf_counter()
    connection.execute(
        f"COPY (SELECT * FROM read_csv('{source}'{columns})) TO '{out}' (FORMAT parquet)"
    )
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def peak_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--rows", type=int, default=10_000_000)
    options.add_argument("--files", type=int, default=50_000)
    options.add_argument(
        "--rss-rows", type=int, default=0, help="also run (a) at this size to compare peak RSS"
    )
    options.add_argument("--skip-big", action="store_true")
    options.add_argument("--skip-small", action="store_true")
    options.add_argument("--child-big", type=Path, help=argparse.SUPPRESS)
    options.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    arguments = options.parse_args()
    if arguments.child_big:
        child_big(arguments.child_big, arguments.child_out)
        return
    with tempfile.TemporaryDirectory(dir=WORK.parent if WORK.exists() else None) as scratch:
        out = Path(scratch)
        if not arguments.skip_big:
            path = big_csv(arguments.rows)
            print(f"(a) one CSV, {arguments.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB")
            figures = bridge_big_in_child(arguments.rows, out / "a")
            seconds, rows = figures["seconds"], int(figures["rows"])
            print(
                f"    bridge       : {seconds:7.2f} s  {rows / seconds:12,.0f} rows/s  peak RSS "
                f"host {figures['host_rss_mb']:.0f} MB, guest {figures['guest_rss_mb']:.0f} MB"
            )
            duck = duckdb_copy(str(path), out / "a.parquet", typed=False)
            print(f"    duckdb auto  : {duck:7.2f} s  {rows / duck:12,.0f} rows/s")
            duck_typed = duckdb_copy(str(path), out / "a-typed.parquet", typed=True)
            print(f"    duckdb typed : {duck_typed:7.2f} s  {rows / duck_typed:12,.0f} rows/s")
            print(
                f"    ratio bridge/duckdb rows/s: {duck / seconds:.2f}x auto, "
                f"{duck_typed / seconds:.2f}x typed (target >= 0.5x)"
            )
            if arguments.rss_rows:
                shutil.rmtree(out / "a", ignore_errors=True)
                more = bridge_big_in_child(arguments.rss_rows, out / "a2")
                print(
                    f"    bridge at {arguments.rss_rows:,} rows: {more['seconds']:.2f} s, peak RSS "
                    f"host {more['host_rss_mb']:.0f} MB, guest {more['guest_rss_mb']:.0f} MB"
                )
        if not arguments.skip_small:
            folder = small_csvs(arguments.files)
            inputs = resolve_inputs(folder)
            print(
                f"(b) {len(inputs):,} small CSVs x 100 rows (uniform generated files, one schema; "
                "not the demo invoices)"
            )
            seconds, rows, guests = bridge(inputs, out / "b")
            parts = len(list((out / "b" / "bridge").rglob("*.parquet")))
            print(
                f"    bridge        : {seconds:7.2f} s  {len(inputs) / seconds:9,.0f} files/s  "
                f"{rows / seconds:11,.0f} rows/s  ({guests} guests, {parts} Parquet file(s))"
            )
            glob = f"{folder}/*/*.csv"
            typed = duckdb_copy(glob, out / "b-typed.parquet", typed=True)
            print(f"    duckdb typed  : {typed:7.2f} s  {len(inputs) / typed:9,.0f} files/s")
            auto = duckdb_copy(glob, out / "b-auto.parquet", typed=False)
            print(f"    duckdb auto   : {auto:7.2f} s  {len(inputs) / auto:9,.0f} files/s")
            print(
                f"    ratio bridge/duckdb files/s: {typed / seconds:.2f}x typed (target >= 1.0x), "
                f"{auto / seconds:.2f}x auto"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
