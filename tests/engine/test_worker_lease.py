"""The worker's per-job path (a handler without ``run_batch``) on a real store and CSV handler."""

from __future__ import annotations

import itertools
import time
from contextlib import closing
from pathlib import Path

from casparian_engine.config import load_config
from casparian_engine.runner.worker import Worker, WorkerOptions
from casparian_engine.store import Store

from .jobs_support import enqueue_files, write_csv_inputs

HANDLER = "tests.engine.job_handlers:csv_to_parquet"


def test_jobs_of_one_lease_keep_their_own_start_and_finish(home: Path, tmp_path: Path) -> None:
    config = load_config(home)
    with closing(Store(config.store_url)) as store:
        ids = enqueue_files(store, write_csv_inputs(tmp_path / "in", 5))
    worker = Worker(config, WorkerOptions(handler_spec=HANDLER))
    before = time.time()
    assert worker.run() == 5
    after = time.time()
    jobs = [worker.store.jobs.get(job_id) for job_id in ids]
    worker.store.close()
    assert len({job.lease_token for job in jobs if job}) == 1  # one claim
    spans = [(job.started_at or 0.0, job.finished_at or 0.0) for job in jobs if job]
    assert len(spans) == 5 and len(set(spans)) == 5
    for start, finish in spans:
        assert before <= start <= finish <= after
    for (_, finish), (start, _) in itertools.pairwise(spans):  # one job after the other
        assert finish <= start
