"""The worker pool on a real store with real worker processes and a real CSV → Parquet handler."""

from __future__ import annotations

import threading
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from casparian_engine.config import Config, load_config
from casparian_engine.events import Event
from casparian_engine.runner.pool import PoolOptions, PoolProgress, PoolSummary, WorkerPool
from casparian_engine.store import Store
from casparian_engine.store.jobs import Job

from .jobs_support import enqueue_files, write_csv_inputs

HANDLER = "tests.engine.job_handlers:csv_to_parquet"
SLOW_HANDLER = "tests.engine.job_handlers:slow_noop"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pool_config(home: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    monkeypatch.setenv("CASPARIAN_RETRY_BACKOFF_S", "0,0,0")
    return load_config(home)


def _run(config: Config, **options: object) -> tuple[PoolSummary, list[Event]]:
    events: list[Event] = []
    pool = WorkerPool(config, PoolOptions(handler_spec=HANDLER, **options))  # type: ignore[arg-type]
    return pool.run(on_event=events.append), events


def test_pool_drains_the_queue_into_parquet(pool_config: Config, tmp_path: Path) -> None:
    inputs = write_csv_inputs(tmp_path / "in", 40, rows_per_file=3)
    with closing(Store(pool_config.store_url)) as store:
        enqueue_files(store, inputs)
    summary, events = _run(pool_config, workers=2, claim_batch=4)
    assert summary.counts == {"completed": 40, "queued": -40}
    assert (summary.jobs_finished, summary.rows_written, summary.worker_crashes) == (40, 120, 0)
    progress = [e for e in events if isinstance(e, PoolProgress)]
    assert progress and progress[0].total == 40
    output = pool_config.output_dir / "csv"
    rows = (
        duckdb.connect()
        .execute(f"SELECT count(*), count(DISTINCT id), min(id), max(id) FROM '{output}/*.parquet'")
        .fetchone()
    )
    assert rows == (120, 120, 0, 119)
    with closing(Store(pool_config.store_url)) as store:
        job = store.jobs.find(status="completed", limit=1)[0]
    assert job.log_path is not None
    assert "wrote 3 rows" in Path(job.log_path).read_text()  # the handler wrote a line


def test_failures_retry_dead_letter_and_trip_the_breaker(
    pool_config: Config, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    good = write_csv_inputs(tmp_path / "in", 3)
    bad = []
    for index in range(6):
        path = tmp_path / "in" / f"permanent_{index}.csv"
        path.write_text(f"id\n{index}\n")
        bad.append(path)
    flaky = tmp_path / "in" / "transient_0.csv"
    flaky.write_text("id\n99\n")
    with closing(Store(pool_config.store_url)) as store:
        enqueue_files(store, [*good, flaky], parser="good")
        enqueue_files(store, bad, parser="bad")
    summary, _ = _run(pool_config, workers=1, claim_batch=1)
    assert summary.paused_parsers == ("bad",)
    assert summary.counts["completed"] == 3
    assert summary.counts["dead_letter"] == 1
    assert summary.counts["failed"] == 5
    assert "[CIRCUIT_BREAKER] Parser 'bad' paused after 5 consecutive failures" in (
        capfd.readouterr().err
    )
    with closing(Store(pool_config.store_url)) as store:
        (letter,) = store.jobs.dead_letters()
        assert (letter.input_path, letter.retry_count) == (str(flaky), 3)
        assert store.jobs.counts(parser_names=["bad"])["queued"] == 1
        failed = store.jobs.find(status="failed", limit=1)[0]
        assert failed.error_message == f"{failed.input_path}: bad header"
        assert "parse_error" in Path(failed.log_path or "").read_text()


def test_cancel_stops_workers_gracefully(pool_config: Config, tmp_path: Path) -> None:
    inputs = write_csv_inputs(tmp_path / "in", 300)
    with closing(Store(pool_config.store_url)) as store:
        enqueue_files(store, inputs)
    cancel = threading.Event()

    def stop_after_first_progress(event: Event) -> None:
        if isinstance(event, PoolProgress) and event.finished >= 1:
            cancel.set()

    options = PoolOptions(handler_spec=SLOW_HANDLER, workers=2, claim_batch=4)
    summary = WorkerPool(pool_config, options).run(stop_after_first_progress, cancel)
    assert summary.cancelled
    with closing(Store(pool_config.store_url)) as store:
        counts = store.jobs.counts()
    # Nothing is left running: finished jobs committed, the rest handed back to the queue.
    assert counts["running"] == 0
    assert counts["completed"] + counts["queued"] == 300
    assert counts["completed"] >= 1 and counts["queued"] >= 1
    assert {j.error_kind for j in store_jobs_queued(pool_config)} <= {None, "released"}


def store_jobs_queued(config: Config) -> list[Job]:
    with closing(Store(config.store_url)) as store:
        return store.jobs.find(status="queued")
