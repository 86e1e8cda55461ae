"""The worker's per-job path (a handler without ``run_batch``) on a real store and CSV handler."""

from __future__ import annotations

import hashlib
import itertools
import time
from contextlib import closing
from pathlib import Path

from casparian_engine.config import load_config
from casparian_engine.runner.worker import Worker, WorkerOptions
from casparian_engine.store import Store
from casparian_engine.store.jobs import NewJob

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


def test_a_duplicate_is_refused_at_commit(home: Path, tmp_path: Path) -> None:
    config = load_config(home)
    first_input, other_input = write_csv_inputs(tmp_path / "in", 2)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(first_input.read_bytes())
    content = hashlib.sha256(copy.read_bytes()).hexdigest()
    with closing(Store(config.store_url)) as store:
        (first,) = enqueue_files(store, [first_input])
    Worker(config, WorkerOptions(handler_spec=HANDLER)).run()
    with closing(Store(config.store_url)) as store:
        # a forced enqueue slips a second job for the same content past the queue's rules
        (dup,) = store.jobs.enqueue([NewJob("csv", "1", str(copy), content)], skip_processed=False)
        (other,) = enqueue_files(store, [other_input])
    worker = Worker(config, WorkerOptions(handler_spec=HANDLER))
    assert worker.run() == 2  # both ran; the duplicate was refused when committing
    store = worker.store
    try:
        refused, done = store.jobs.get(dup), store.jobs.get(other)
        assert refused is not None and (refused.status, refused.error_kind) == (
            "failed",
            "Duplicate",
        )
        assert refused.error_message == (
            f"not written: its content was already processed by job {first} with csv 1"
        )
        assert refused.output_paths == ()
        assert refused.log_path and refused.error_message in Path(refused.log_path).read_text()
        assert done is not None and done.status == "completed"
        entry = store.history.get(content, "csv", "1")
        assert entry is not None and entry.job_id == first
        assert store.health.paused_parsers() == []
        assert store.jobs.replay_refusal(dup) == (
            f"job {dup} not replayed: already processed by job {first} (completed)"
        )
    finally:
        store.close()
