"""One job per (parser version, input): enqueue, replay and the batch commit never double-write."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from casparian_engine.cli.common import console
from casparian_engine.cli.main import app
from casparian_engine.cli.process import _print_summary
from casparian_engine.config import load_config
from casparian_engine.runner.batch import BatchResult, commit_batch
from casparian_engine.runner.matching import EnqueueReport
from casparian_engine.runner.parts import JOB_COLUMN, BatchParts
from casparian_engine.runner.pool import PoolOptions, PoolSummary, WorkerPool
from casparian_engine.store import Store
from casparian_engine.store.jobs import JobFailure, JobOutcome, NewJob

from .jobs_support import new_jobs, store_on_each_backend  # noqa: F401


def _finish(store: Store, job_id: int) -> None:
    lease = store.jobs.claim("w")
    assert [j.id for j in lease.jobs] == [job_id]
    assert store.jobs.complete(job_id, lease.token, JobOutcome(rows_written=2))


def test_replay_of_a_cancelled_job_is_refused_while_another_job_holds_its_file(
    store: Store,
) -> None:
    (cancelled,) = store.jobs.enqueue([NewJob("p", "1", "/in/a.csv", "ha")])
    assert store.jobs.cancel(cancelled)
    (second,) = store.jobs.enqueue([NewJob("p", "1", "/in/a.csv", "ha")])
    assert store.jobs.replay(cancelled) is False
    assert store.jobs.replay_refusal(cancelled) == (
        f"job {cancelled} not replayed: its file is already queued as job {second}"
    )
    _finish(store, second)
    assert store.jobs.replay(cancelled) is False
    assert store.jobs.replay_refusal(cancelled) == (
        f"job {cancelled} not replayed: already processed by job {second} (completed)"
    )
    assert store.jobs.get(cancelled).status == "cancelled"  # type: ignore[union-attr]
    # another parser version may process the same file
    assert len(store.jobs.enqueue([NewJob("p", "2", "/in/a.csv", "ha")])) == 1


def test_a_path_without_hash_is_held_by_its_path(store: Store) -> None:
    (cancelled,) = store.jobs.enqueue([NewJob("p", "1", "/in/b.csv", None)])
    assert store.jobs.cancel(cancelled)
    (second,) = store.jobs.enqueue([NewJob("p", "1", "/in/b.csv", None)])
    _finish(store, second)
    assert store.jobs.enqueue([NewJob("p", "1", "/in/b.csv", None)]) == []
    assert store.jobs.replay_refusal(cancelled) == (
        f"job {cancelled} not replayed: already processed by job {second} (completed)"
    )


def test_enqueue_skips_files_with_failed_jobs_and_replay_reruns_them(store: Store) -> None:
    (failed,) = store.jobs.enqueue([NewJob("p", "1", "/in/c.csv", "hc")])
    lease = store.jobs.claim("w")
    assert store.jobs.fail(failed, lease.token, JobFailure("ParseError", "bad")).status == "failed"
    assert store.jobs.failed_inputs("p", "1") == {"hc"}
    assert store.jobs.enqueue([NewJob("p", "1", "/in/c.csv", "hc")]) == []
    assert store.jobs.replay_refusal(failed) is None
    assert store.jobs.replay(failed) is True
    assert store.jobs.counts()["queued"] == 1


def test_batch_commit_fails_a_duplicate_without_publishing_its_rows(
    store: Store, tmp_path: Path
) -> None:
    (first,) = store.jobs.enqueue([NewJob("p", "1", "/in/d.csv", "hd")])
    _finish(store, first)
    # a forced enqueue slips a second process job for the same content past the queue's rules
    (dup,) = store.jobs.enqueue([NewJob("p", "1", "/in/d-copy.csv", "hd")], skip_processed=False)
    (other,) = store.jobs.enqueue([NewJob("p", "1", "/in/e.csv", "he")])
    lease = store.jobs.claim("w", limit=2)
    parts = BatchParts(tmp_path / "out", lease.token)
    parts.write("rows", pa.table({"x": [1, 2, 3], JOB_COLUMN: pa.array([dup, dup, other])}))
    parts.settle({dup, other})
    refused = JobOutcome(rows_written=2, started_at=1001.0, finished_at=1002.5)
    result = BatchResult(parts=[parts], outcomes={dup: refused, other: JobOutcome(rows_written=1)})
    report = commit_batch(store, lease, result)
    assert report.completed == (other,) and report.failed[dup].status == "failed"
    job = store.jobs.get(dup)
    assert job is not None and (job.status, job.error_kind) == ("failed", "Duplicate")
    assert job.error_message == (
        f"not written: its content was already processed by job {first} with p 1"
    )
    assert (job.started_at, job.finished_at) == (1001.0, 1002.5)  # the refused run's own span
    (completed,) = store.audit.list("job.completed")
    (failed,) = store.audit.list("job.failed")
    assert completed.subject == str(other) and failed.subject == str(dup)
    assert failed.details == {
        "parser": "p",
        "version": "1",
        "input_path": "/in/d-copy.csv",
        "input_hash": "hd",
        "error": f"Duplicate: {job.error_message}",
        "status": "failed",
    }
    written = [pq.read_table(p) for p in (tmp_path / "out").rglob("*.parquet")]
    assert [t.column(JOB_COLUMN).to_pylist() for t in written] == [[other]]
    entry = store.history.get("hd", "p", "1")
    assert entry is not None and entry.job_id == first
    assert store.health.paused_parsers() == []
    assert store.jobs.replay_refusal(dup) == (
        f"job {dup} not replayed: already processed by job {first} (completed)"
    )


def test_cli_replay_names_the_job_holding_the_file(home: Path) -> None:
    with closing(Store(f"sqlite:///{home / 'state.db'}")) as store:
        (cancelled,) = store.jobs.enqueue([NewJob("p", "1", "/in/a.csv", "ha")])
        store.jobs.cancel(cancelled)
        (second,) = store.jobs.enqueue([NewJob("p", "1", "/in/a.csv", "ha")])
    result = CliRunner().invoke(app, ["jobs", "replay", str(cancelled)])
    assert result.exit_code == 1
    assert f"job {cancelled} not replayed: its file is already queued as job {second}" in (
        result.output.replace("\n", " ")
    )


def test_process_pluralises_one_job_and_its_rates() -> None:
    summary = PoolSummary(
        jobs_finished=1,
        counts={"completed": 1},
        rows_emitted=1,
        rows_written=1,
        rows_quarantined=0,
        elapsed_s=1.0,
        orphans_requeued=0,
    )
    with console.capture() as captured:
        _print_summary(summary)
    first_line = captured.get().splitlines()[0]
    assert first_line == "1 job finished in 1.0s (1 file/s, 1 row/s): 1 completed"


def test_failed_jobs_note_tells_to_replay() -> None:
    report = EnqueueReport("p", "1", matched=3, queued=0, with_failed_jobs=2)
    assert report.why_nothing_queued() == (
        "p 1: 2 matched files have failed jobs — replay them with `casparian jobs replay`"
    )
    partial = EnqueueReport("p", "1", matched=3, queued=2, with_failed_jobs=1)
    assert partial.why_nothing_queued() is None
    assert partial.failed_jobs_note() == (
        "p 1: 1 matched file has a failed job — replay them with `casparian jobs replay`"
    )


def test_a_short_queue_is_claimed_in_fair_shares(store: Store) -> None:
    ids = store.jobs.enqueue(new_jobs(15))
    first = store.jobs.claim("w1", limit=256, share=2)
    assert [j.id for j in first.jobs] == ids[:8]  # ceil(15 / 2)
    second = store.jobs.claim("w2", limit=256, share=2)
    assert [j.id for j in second.jobs] == ids[8:12]  # ceil(7 / 2)
    assert [j.id for j in store.jobs.claim("w3", limit=2, share=2).jobs] == ids[12:14]
    assert [j.id for j in store.jobs.claim("w4", limit=256, share=2).jobs] == ids[14:]
    assert store.jobs.claim("w5", limit=256, share=2).jobs == ()


def test_pool_tells_each_worker_how_many_share_the_queue(home: Path) -> None:
    pool = WorkerPool(load_config(home), PoolOptions(workers=3))
    command = pool._command()
    assert command[command.index("--peers") + 1] == "3"


def test_jobs_listing_says_when_jobs_share_their_batch_times(home: Path) -> None:
    with closing(Store(f"sqlite:///{home / 'state.db'}")) as store:
        store.jobs.enqueue(new_jobs(3))
        lease = store.jobs.claim("w", limit=2)
        store.jobs.complete_many([(j.id, lease.token, JobOutcome()) for j in lease.jobs])
        # jobs cancelled together share their times too, but they end when cancelled, not run
        store.jobs.enqueue(
            [
                NewJob("p", "1", f"/b/{i}.csv", f"b{i}", kind="backfill", batch_id="b1")
                for i in (1, 2)
            ]
        )
        store.jobs.claim("w", limit=2, kind="backfill")
        assert len(store.jobs.cancel_unfinished("backfill")) == 2
    result = CliRunner().invoke(app, ["jobs"])
    assert result.exit_code == 0
    assert (
        "2 of these jobs show their batch's claim and commit times, not their own: their batch "
        "handler does not time each file"
    ) in " ".join(result.output.split())


def test_a_failed_job_keeps_its_own_run_times_when_the_failure_gives_them(store: Store) -> None:
    store.jobs.max_retries = 0
    timed, dead, untimed = store.jobs.enqueue(new_jobs(3))
    lease = store.jobs.claim("w", limit=3, now=1000.0)
    failure = JobFailure("ParseError", "bad header", started_at=1001.0, finished_at=1002.5)
    assert store.jobs.fail(timed, lease.token, failure).status == "failed"
    spent = JobFailure("Timeout", "slow", transient=True, started_at=1003.0, finished_at=1004.0)
    assert store.jobs.fail(dead, lease.token, spent).status == "dead_letter"
    assert store.jobs.fail(untimed, lease.token, JobFailure("ParseError", "bad")).status == "failed"
    first, second, third = (store.jobs.get(i) for i in (timed, dead, untimed))
    assert first is not None and (first.started_at, first.finished_at) == (1001.0, 1002.5)
    assert second is not None and (second.started_at, second.finished_at) == (1003.0, 1004.0)
    (letter,) = store.jobs.dead_letters()
    assert (letter.job_id, letter.failed_at) == (dead, 1004.0)
    assert third is not None and third.started_at == 1000.0  # the claim time
    assert (third.finished_at or 0.0) > 1004.0  # the time the failure was recorded


def test_a_job_keeps_its_own_run_times_when_the_handler_gives_them(store: Store) -> None:
    ids = store.jobs.enqueue(new_jobs(2))
    lease = store.jobs.claim("w", limit=2, now=1000.0)
    timed = JobOutcome(started_at=1001.0, finished_at=1002.5)
    assert store.jobs.complete_many(
        [(ids[0], lease.token, timed), (ids[1], lease.token, JobOutcome())]
    ) == [True, True]
    first, second = (store.jobs.get(i) for i in ids)
    assert first is not None and (first.started_at, first.finished_at) == (1001.0, 1002.5)
    assert second is not None and second.started_at == 1000.0
    assert (second.finished_at or 0.0) > 1002.5  # the commit time
