"""The worker's per-job path (a handler without ``run_batch``) on a real store and CSV handler."""

from __future__ import annotations

import hashlib
import itertools
import time
from contextlib import closing
from pathlib import Path

import pytest

from casparian_engine.config import load_config
from casparian_engine.runner.batch import duplicate_failure
from casparian_engine.runner.worker import Worker, WorkerOptions
from casparian_engine.store import Store
from casparian_engine.store.jobs import Job, JobOutcome, NewJob

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


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The home's store on SQLite (its default) or on a fresh PostgreSQL database."""
    if request.param == "postgresql":
        monkeypatch.setenv("CASPARIAN_STORE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


def test_a_duplicate_is_refused_at_commit_and_audited(
    backend: str, home: Path, tmp_path: Path
) -> None:
    config = load_config(home)
    assert config.store_url.startswith(backend)
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
    before = time.time()
    assert worker.run() == 2  # both ran; the duplicate was refused when committing
    after = time.time()
    store = worker.store
    try:
        original, refused, done = store.jobs.get(first), store.jobs.get(dup), store.jobs.get(other)
        assert original is not None and refused is not None and done is not None
        # the handler names its file by content: the duplicate wrote over the original's file
        shared = str(config.output_dir / "csv" / f"{content}.parquet")
        assert original.output_paths == (shared,)
        assert (refused.status, refused.error_kind) == ("failed", "Duplicate")
        assert refused.error_message == (
            f"result not recorded: its content was already processed by job {first} with csv 1; "
            f"the files its handler wrote stay on disk: {shared} (also an output of job {first})"
        )
        assert Path(shared).is_file()  # never removed: it is the original's recorded output
        assert refused.output_paths == ()
        assert refused.log_path and refused.error_message in Path(refused.log_path).read_text()
        assert refused.started_at and refused.finished_at
        assert before <= refused.started_at <= refused.finished_at <= after  # its own run
        assert done.status == "completed"
        entry = store.history.get(content, "csv", "1")
        assert entry is not None and entry.job_id == first
        assert store.health.paused_parsers() == []
        assert store.jobs.replay_refusal(dup) == (
            f"job {dup} not replayed: already processed by job {first} (completed)"
        )
        completed = {e.subject: e.details for e in store.audit.list("job.completed")}
        assert sorted(completed) == sorted([str(first), str(other)])
        (done_output,) = done.output_paths
        assert completed[str(other)] == {
            "parser": "csv",
            "version": "1",
            "input_path": str(other_input),
            "input_hash": done.input_hash,
            "rows_written": 5,
            "rows_quarantined": 0,
            "outputs": {done_output: hashlib.sha256(Path(done_output).read_bytes()).hexdigest()},
        }
        (failed,) = store.audit.list("job.failed")
        assert (failed.subject, failed.details) == (
            str(dup),
            {
                "parser": "csv",
                "version": "1",
                "input_path": str(copy),
                "input_hash": content,
                "error": f"Duplicate: {refused.error_message}",
                "status": "failed",
            },
        )
    finally:
        store.close()


def test_a_failed_job_keeps_its_own_times_and_is_audited(home: Path, tmp_path: Path) -> None:
    config = load_config(home)
    good = write_csv_inputs(tmp_path / "in", 2)
    bad = tmp_path / "in" / "permanent.csv"
    bad.write_text("id,value\n9,9\n")
    with closing(Store(config.store_url)) as store:
        ids = enqueue_files(store, [good[0], bad, good[1]])
    worker = Worker(config, WorkerOptions(handler_spec=HANDLER))
    before = time.time()
    assert worker.run() == 3
    after = time.time()
    jobs = [worker.store.jobs.get(job_id) for job_id in ids]
    audit = {e.action: e for e in worker.store.audit.list()}
    worker.store.close()
    assert [job.status for job in jobs if job] == ["completed", "failed", "completed"]
    spans = [(job.started_at or 0.0, job.finished_at or 0.0) for job in jobs if job]
    assert before <= spans[0][0] and spans[-1][1] <= after
    for (_, finish), (start, _) in itertools.pairwise(spans):  # its own run, between the others
        assert finish <= start
    failed = audit["job.failed"]
    assert (failed.subject, failed.details["error"], failed.details["status"]) == (
        str(ids[1]),
        f"parse_error: {bad}: bad header",
        "failed",
    )


def test_a_duplicate_names_the_files_its_handler_left_beside_the_original(
    home: Path, tmp_path: Path
) -> None:
    config = load_config(home)
    (source,) = write_csv_inputs(tmp_path / "in", 1)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(source.read_bytes())
    content = hashlib.sha256(source.read_bytes()).hexdigest()
    options = WorkerOptions(handler_spec="tests.engine.job_handlers:copy_per_job")
    with closing(Store(config.store_url)) as store:
        (first,) = enqueue_files(store, [source])
    Worker(config, options).run()
    with closing(Store(config.store_url)) as store:
        (dup,) = store.jobs.enqueue([NewJob("csv", "1", str(copy), content)], skip_processed=False)
    worker = Worker(config, options)
    assert worker.run() == 1
    refused = worker.store.jobs.get(dup)
    worker.store.close()
    left = config.output_dir / "csv" / f"{dup}.csv"
    assert refused is not None and refused.error_message == (
        f"result not recorded: its content was already processed by job {first} with csv 1; "
        f"the files its handler wrote stay on disk: {left}"
    )  # its own file, not the original's; the output it named but never wrote is not listed
    assert left.read_bytes() == source.read_bytes()
    assert (config.output_dir / "csv" / f"{first}.csv").is_file()


def test_a_duplicate_message_names_only_the_files_its_handler_left() -> None:
    job = Job.from_row(
        (7, "csv", "1", None, "/in/copy.csv", "h", "running", "process", None, 0, 0, 0.0, "t")
        + ("w", None, 0.0, 1.0, None, None, None, None, 0, 0, 0, "[]", None)
    )
    refused = JobOutcome(5, 5, 0, ("/out/a.parquet", "/out/b.parquet"), None, 2.0, 3.0)
    failure = duplicate_failure(
        job, 3, refused, files_left=refused.output_paths, original_outputs=("/out/b.parquet",)
    )
    assert failure.message == (
        "result not recorded: its content was already processed by job 3 with csv 1; the files "
        "its handler wrote stay on disk: /out/a.parquet, /out/b.parquet (also an output of job 3)"
    )
    assert (failure.started_at, failure.finished_at) == (2.0, 3.0)
    quiet = duplicate_failure(job, 3, JobOutcome(), files_left=())
    assert quiet.message == (
        "result not recorded: its content was already processed by job 3 with csv 1"
    )
    assert duplicate_failure(job, 3).message == (
        "not written: its content was already processed by job 3 with csv 1"
    )
