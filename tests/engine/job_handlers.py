"""Real, in-process job handlers the worker tests run (the executor has its own tests).

``csv_to_parquet`` reads a CSV with pyarrow and writes one Parquet file per input content through
a temp file and an atomic rename, with the job id as lineage; files whose name says ``permanent``
or ``transient`` fail that way. ``copy_per_job`` writes one file per job. ``record_claims`` only
appends the job id to a per-process file, so a test can prove no job ran twice.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from casparian_engine.config import Config
from casparian_engine.runner.worker import JobContext, JobError, JobHandler
from casparian_engine.store import Store
from casparian_engine.store.jobs import JobOutcome


def csv_to_parquet(config: Config, store: Store) -> JobHandler:
    def handle(context: JobContext) -> JobOutcome:
        job = context.job
        name = Path(job.input_path).name
        if "permanent" in name:
            raise JobError("parse_error", f"{job.input_path}: bad header")
        if os.environ.get("CASPARIAN_TEST_FAIL_NAME") == name:
            raise JobError("parse_error", f"{job.input_path}: rejected by the test")
        if "transient" in name:
            raise JobError("timeout", f"{job.input_path}: guest timed out", transient=True)
        table = pacsv.read_csv(job.input_path)
        table = table.append_column("_cf_job_id", pa.array([job.id] * table.num_rows, pa.int64()))
        target_dir = context.output_root / job.parser_name
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"{job.input_hash}.parquet"
        temp = target_dir / f".{job.input_hash}.{os.getpid()}.tmp"
        pq.write_table(table, temp)
        os.replace(temp, target)
        context.log.write("info", f"wrote {table.num_rows} rows to {target}")
        return JobOutcome(table.num_rows, table.num_rows, 0, (str(target),))

    return handle


def copy_per_job(config: Config, store: Store) -> JobHandler:
    """Copies each input to ``<job id>.csv`` and names one more output it never writes."""

    def handle(context: JobContext) -> JobOutcome:
        job = context.job
        target_dir = context.output_root / job.parser_name
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"{job.id}.csv"
        target.write_bytes(Path(job.input_path).read_bytes())
        return JobOutcome(1, 1, 0, (str(target), str(target_dir / f"{job.id}.never")))

    return handle


def record_claims(config: Config, store: Store) -> JobHandler:
    claims_dir = Path(os.environ["CASPARIAN_TEST_CLAIMS_DIR"])
    claims_dir.mkdir(parents=True, exist_ok=True)
    handle_file = open(claims_dir / f"{os.getpid()}.txt", "a")  # noqa: SIM115

    def handle(context: JobContext) -> JobOutcome:
        handle_file.write(f"{context.job.id}\n")
        handle_file.flush()
        return JobOutcome()

    handle.close = handle_file.close  # type: ignore[attr-defined]
    return handle
