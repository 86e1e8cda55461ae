"""Prod loop benchmark: the queue's claim-and-complete rate, and the full pipeline vs DuckDB.

Part 1 (queue): N jobs whose handler emits nothing, claimed and completed on a fresh SQLite store
— once in-process by one worker (the queue's own cost) and once by ``casparian process`` with its
worker processes. Part 2 (pipeline, ``--pipeline``): the demo's files processed by
``casparian process`` with the registered demo parsers, beside DuckDB's ``read_csv`` glob → Parquet
of the CSV files in the same run, with the column types given and with auto-detection.

    .venv/bin/python bench/process.py                      # queue, 20,000 jobs
    .venv/bin/python bench/process.py --jobs 2000          # quick
    .venv/bin/python bench/process.py --jobs 0 --pipeline --files 50000   # pipeline only
    .venv/bin/python bench/process.py --store postgresql://USER@HOST/DB --pg-defaults
        # SQLite, that PostgreSQL server, and a throw-away cluster with fsync on, in one run
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from casparian_engine.config import Config, load_config  # noqa: E402
from casparian_engine.runner.batch import BatchContext, BatchResult  # noqa: E402
from casparian_engine.runner.pool import PoolOptions, WorkerPool  # noqa: E402
from casparian_engine.runner.worker import Worker, WorkerOptions  # noqa: E402
from casparian_engine.store import Store  # noqa: E402
from casparian_engine.store.jobs import JobOutcome, NewJob  # noqa: E402
from tests.pg_cluster import PgCluster, drop_database, fresh_database  # noqa: E402

NOOP_HANDLER = "bench.process:emit_nothing"


class EmitNothing:
    """A batch handler whose parser emits nothing: each claimed job completes with no rows, so
    what remains is the queue's own cost on the production path (the claim, heartbeats, one
    commit per batch with its history and audit entries)."""

    def run_batch(self, context: BatchContext) -> BatchResult:
        result = BatchResult()
        jobs = context.lease.jobs
        for index, job in enumerate(jobs):
            if context.stop.is_set():
                result.unstarted = [later.id for later in jobs[index:]]
                break
            result.outcomes[job.id] = JobOutcome()
            context.file_done(True, 0)
        return result


def emit_nothing(config: Config, store: Store | None = None) -> EmitNothing:
    """The handler factory (the worker hands over its settings and its own store)."""
    return EmitNothing()


def _enqueue(home: Path, count: int) -> float:
    store = Store(load_config(home).store_url)
    started = time.perf_counter()
    store.jobs.enqueue([NewJob("noop", "1", f"/virtual/{i}.csv", f"h{i}") for i in range(count)])
    seconds = time.perf_counter() - started
    store.close()
    return seconds


@contextmanager
def _store_env(url: str | None, name: str) -> Iterator[None]:
    """``CASPARIAN_STORE_URL`` for one run: a fresh database ``name`` on the server of ``url``
    (dropped afterwards), or the home's own SQLite file when ``url`` is None."""
    if url is None:
        os.environ.pop("CASPARIAN_STORE_URL", None)
        yield
        return
    os.environ["CASPARIAN_STORE_URL"] = fresh_database(url, name)
    try:
        yield
    finally:
        os.environ.pop("CASPARIAN_STORE_URL", None)
        drop_database(url, name)


def bench_queue(label: str, url: str | None, job_count: int, batch: int, workers: int) -> None:
    """Claim+complete on one store: in-process by one worker, then by a pool of processes."""
    print(f"-- {label}")
    with tempfile.TemporaryDirectory() as scratch:
        with _store_env(url, f"cf_bench_{os.getpid()}_inproc"):
            home = Path(scratch) / "inproc"
            os.environ["CASPARIAN_HOME"] = str(home)
            enqueue_s = _enqueue(home, job_count)
            rate = job_count / enqueue_s
            print(f"enqueue {job_count:,} jobs: {enqueue_s:.2f}s ({rate:,.0f} jobs/s)")
            config = load_config(home)
            worker = Worker(config, WorkerOptions(claim_batch=batch, handler_spec=NOOP_HANDLER))
            started = time.perf_counter()
            ran = worker.run()
            seconds = time.perf_counter() - started
            worker.store.close()
            print(
                f"claim+complete, 1 in-process worker, batch {batch}: {ran:,} jobs in "
                f"{seconds:.2f}s = {ran / seconds:,.0f} jobs/s"
            )
        with _store_env(url, f"cf_bench_{os.getpid()}_pool"):
            home = Path(scratch) / "pool"
            os.environ["CASPARIAN_HOME"] = str(home)
            _enqueue(home, job_count)
            pool = WorkerPool(
                load_config(home),
                PoolOptions(workers=workers, claim_batch=batch, handler_spec=NOOP_HANDLER),
            )
            summary = pool.run()
            print(
                f"casparian process, {workers} worker processes, batch {batch}: "
                f"{summary.jobs_finished:,} jobs in {summary.elapsed_s:.2f}s "
                f"= {summary.files_per_s:,.0f} jobs/s (incl. worker start-up)"
            )
            store = Store(load_config(home).store_url)
            first, last = store.db.query_one(
                "SELECT MIN(started_at), MAX(finished_at) FROM cf_jobs"
            )
            store.close()
            span = float(last) - float(first)
            print(
                f"  the same run from its first claim to its last commit: {span:.2f}s "
                f"= {summary.jobs_finished / span:,.0f} jobs/s (workers started)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--store",
        action="append",
        default=[],
        metavar="URL",
        help="also run the queue bench on this PostgreSQL server (a fresh database on it)",
    )
    parser.add_argument(
        "--pg-defaults",
        action="store_true",
        help="also start a throw-away PostgreSQL cluster with the server's default settings "
        "(fsync on) in bench/.work, run the queue bench on it, and stop it",
    )
    parser.add_argument("--pipeline", action="store_true")
    parser.add_argument("--files", type=int, default=50_000)
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = str(REPO_ROOT)
    if args.jobs:
        bench_queue("SQLite (WAL, synchronous=NORMAL)", None, args.jobs, args.batch, args.workers)
        for url in args.store:
            bench_queue(f"PostgreSQL {url}", url, args.jobs, args.batch, args.workers)
        if args.pg_defaults:
            with PgCluster(REPO_ROOT / "bench" / ".work" / "pg-defaults") as cluster:
                label = f"PostgreSQL, fresh cluster, server defaults (fsync on) {cluster.url()}"
                bench_queue(label, cluster.url(), args.jobs, args.batch, args.workers)
    if args.pipeline:
        from bench.process_pipeline import bench_pipeline

        bench_pipeline(args.files, args.workers)


if __name__ == "__main__":
    main()
