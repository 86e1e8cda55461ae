"""The worker pool on a real store with real worker processes running a registered bundle (the
invoices parser) in real guests: it drains the queue into Parquet, and a cancel stops it
gracefully. Retries, dead letters and the breaker are in ``test_queue_real_guests``."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from casparian_engine.events import Event, PoolProgress
from casparian_engine.job_states import JobState
from casparian_engine.workspace import Workspace

from .real_bundles import invoices, register

SLOW_BODY = "import time\ntime.sleep(0.05)"  # work still running when the test stops the pool


def test_pool_drains_the_queue_into_parquet(home: Path, tmp_path: Path) -> None:
    names = [f"input_{n:05d}.csv" for n in range(40)]
    events: list[Event] = []
    with Workspace.open(home) as workspace:
        workspace.files.scan(invoices(tmp_path / "data", *names, rows=3))
        register(workspace, tmp_path / "parser")
        summary = workspace.jobs.process(workers=2, claim_batch=4, on_event=events.append)
        (job,) = workspace.jobs.list(limit=1)
    assert summary.counts == {JobState.COMPLETED: 40, JobState.QUEUED: -40}
    assert (summary.jobs_finished, summary.rows_written, summary.worker_crashes) == (40, 120, 0)
    progress = [e for e in events if isinstance(e, PoolProgress)]
    assert progress and progress[0].total == 40
    output = home / "output" / "invoices" / "invoices"
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT count(*), count(DISTINCT id), count(DISTINCT _cf_job_id) "
            f"FROM '{output}/*.parquet'"
        ).fetchone()
    assert rows == (120, 120, 40)  # every row once, from each of the 40 jobs
    assert (job.status, job.rows_written) == (JobState.COMPLETED, 3)


def test_cancel_stops_workers_gracefully(home: Path, tmp_path: Path) -> None:
    names = [f"input_{n:05d}.csv" for n in range(60)]
    cancel = threading.Event()

    def stop_after_first_progress(event: Event) -> None:
        if isinstance(event, PoolProgress) and event.finished >= 1:
            cancel.set()

    with Workspace.open(home) as workspace:
        workspace.files.scan(invoices(tmp_path / "data", *names))
        register(workspace, tmp_path / "parser", SLOW_BODY)
        summary = workspace.jobs.process(
            workers=2, claim_batch=4, on_event=stop_after_first_progress, cancel=cancel
        )
        counts = workspace.jobs.counts()
        queued = workspace.jobs.list(status=JobState.QUEUED, limit=100)
    assert summary.cancelled
    # Nothing is left running: finished jobs committed, the rest handed back to the queue.
    assert counts[JobState.RUNNING] == 0
    assert counts[JobState.COMPLETED] + counts[JobState.QUEUED] == 60
    assert counts[JobState.COMPLETED] >= 1 and counts[JobState.QUEUED] >= 1
    assert {job.error_kind for job in queued} <= {None, "released"}
