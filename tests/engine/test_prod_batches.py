"""The real prod handler on the demo: coalesced parts, one commit per batch, store quarantine.

Every test copies one pristine demo home (scanned, tagged, sample parsers registered) and runs the
registered ``invoices`` parser through real guests. The demo's invoices hold a few bad rows, so
some jobs end ``completed_with_warnings`` with their rows in ``cf_quarantine``.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import time
from pathlib import Path

import duckdb
import psutil
import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.config import load_config
from casparian_engine.demo.home import create_demo_workspace
from casparian_engine.runner.batch import BatchContext, JobLogs, commit_batch
from casparian_engine.runner.parts import BatchParts, recover_parts
from casparian_engine.runner.prod import ProdHandler
from casparian_engine.runner.worker import Worker, WorkerOptions
from casparian_engine.store.jobs import NewJob
from casparian_engine.store.quarantine import QuarantineFilter
from casparian_engine.workspace import Workspace

DEMO_FILES = 400


@pytest.fixture(scope="module")
def pristine_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prod") / "demo"
    create_demo_workspace(root, DEMO_FILES)
    return root


@pytest.fixture
def demo_home(pristine_demo: Path, tmp_path: Path, home: Path) -> Path:
    copy = tmp_path / "demo-home"
    shutil.copytree(pristine_demo / "home", copy, symlinks=True)
    return copy


def _parts_dir(home: Path) -> Path:
    return home / "output" / "invoices" / "invoices"


def _queue_invoices(home: Path) -> list[int]:
    with Workspace.open(home) as workspace:
        workspace.jobs.enqueue("invoices")
        return [j.id for j in workspace.store.jobs.find(parser_name="invoices", limit=10_000)]


def test_pool_writes_one_part_per_batch_and_commits_quarantine_and_audit(demo_home: Path) -> None:
    with Workspace.open(demo_home) as workspace:
        summary = workspace.jobs.process("invoices", workers=2, claim_batch=64)
        store = workspace.store
        jobs = store.jobs.find(parser_name="invoices", limit=10_000)
        assert summary.jobs_finished == len(jobs) and summary.rows_quarantined > 0
        assert {j.status for j in jobs} == {"completed", "completed_with_warnings"}
        for job in jobs:
            assert (job.status == "completed_with_warnings") == (job.rows_quarantined > 0)
        quarantined = sum(j.rows_quarantined for j in jobs)
        assert quarantined > 0
        assert store.quarantine.count(QuarantineFilter(parser_name="invoices")) == quarantined
        row = store.quarantine.list(QuarantineFilter(parser_name="invoices"), limit=1)[0]
        source = store.jobs.get(row.job_id)
        assert source is not None and row.source_path == source.input_path
        assert row.source_hash == source.input_hash and row.contract_hash
        audit = store.audit.list("job.completed", limit=10_000)
        assert sorted(int(a.subject) for a in audit) == sorted(j.id for j in jobs)
        entry = audit[0].details
        (part_path,) = entry["outputs"]
        assert (
            entry["outputs"][part_path] == hashlib.sha256(Path(part_path).read_bytes()).hexdigest()
        )
    parts = sorted(_parts_dir(demo_home).glob("part-*.parquet"))
    # one per claim, never one per file; the short tail is shared fairly (halving claims)
    assert 1 <= len(parts) <= len(jobs) // 64 + 2 * 2 + (64).bit_length()
    assert not list(_parts_dir(demo_home).glob(".*"))  # no temp left behind
    written, distinct_rows, job_ids = (
        duckdb.connect()
        .execute(
            "SELECT count(*), count(DISTINCT (_cf_source_hash, _cf_row)), "
            "count(DISTINCT _cf_job_id) "
            f"FROM '{_parts_dir(demo_home)}/*.parquet'"
        )
        .fetchone()
    )
    assert written == distinct_rows == sum(j.rows_written for j in jobs)
    assert job_ids == len(jobs)


def test_a_failing_file_fails_alone_and_leaves_no_rows(demo_home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not,an,invoice\n1,2,3\n")
    with Workspace.open(demo_home) as workspace:
        workspace.jobs.enqueue("invoices")
        version = workspace.store.jobs.find(parser_name="invoices", limit=1)[0].parser_version
        (bad_id,) = workspace.store.jobs.enqueue([NewJob("invoices", version, str(bad), "bad")])
    worker = Worker(load_config(demo_home), WorkerOptions(parser_names=("invoices",)))
    before = time.time()
    worker.run()
    after = time.time()
    failed = worker.store.jobs.get(bad_id)
    assert failed is not None and failed.status == "failed"
    assert failed.error_message and str(bad) in failed.error_message
    assert failed.log_path and "failed" in Path(failed.log_path).read_text()
    counts = worker.store.jobs.counts(["invoices"]).by_status
    jobs = worker.store.jobs.find(parser_name="invoices", limit=10_000)
    worker.store.close()
    assert counts["failed"] == 1 and counts.get("queued", 0) == 0
    # the failed job keeps its own file's span, not its batch's claim and commit times
    assert failed.started_at and failed.finished_at
    assert before <= failed.started_at < failed.finished_at <= after
    batch = sorted(
        (j.started_at or 0.0, j.finished_at or 0.0)
        for j in jobs
        if j.lease_token == failed.lease_token
    )
    assert len(batch) > 1 and len(set(batch)) == len(batch)
    for (_, finish), (start, _) in itertools.pairwise(batch):  # one file after the other
        assert finish <= start
    listing = CliRunner().invoke(app, ["--home", str(demo_home), "jobs", "--limit", "500"])
    assert listing.exit_code == 0 and "claim and commit times" not in listing.output
    bad_rows = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FROM '{_parts_dir(demo_home)}/*.parquet' WHERE _cf_job_id = {bad_id}"
        )
        .fetchone()
    )
    assert bad_rows == (0,)


def test_quarantine_policy_fails_the_job_but_keeps_its_quarantined_rows(demo_home: Path) -> None:
    (demo_home / "config.toml").write_text("quarantine_max_percent = 0.001\n")
    _queue_invoices(demo_home)
    worker = Worker(load_config(demo_home), WorkerOptions(parser_names=("invoices",)))
    worker.run()
    store = worker.store
    failed = store.jobs.find(status="failed", parser_name="invoices", limit=10_000)
    assert failed and all(j.error_kind == "QuarantinePolicy" for j in failed)
    assert "quarantine_max_percent" in (failed[0].error_message or "")
    assert "the rows are kept in quarantine" in (failed[0].error_message or "")
    assert store.jobs.find(status="completed_with_warnings", limit=10) == []
    for job in failed:
        assert store.quarantine.count(QuarantineFilter(job_id=job.id)) >= 1
    failed_ids = ", ".join(str(j.id) for j in failed)
    leaked = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FROM '{_parts_dir(demo_home)}/*.parquet' "
            f"WHERE _cf_job_id IN ({failed_ids})"
        )
        .fetchone()
    )
    store.close()
    assert leaked == (0,)


def _run_batch_by_hand(home: Path) -> tuple[Worker, ProdHandler, object, object]:
    _queue_invoices(home)
    config = load_config(home)
    worker = Worker(config, WorkerOptions(parser_names=("invoices",)))
    lease = worker.store.jobs.claim(worker.worker_id, limit=20, parser_names=("invoices",))
    handler = ProdHandler(config, worker.store)
    logs = JobLogs(config, worker.worker_id)
    result = handler.run_batch(BatchContext(lease, config, config.output_dir, logs))
    return worker, handler, lease, result


def test_a_job_cancelled_before_the_commit_has_no_rows_in_the_part(demo_home: Path) -> None:
    worker, handler, lease, result = _run_batch_by_hand(demo_home)
    try:
        cancelled = lease.jobs[3].id  # type: ignore[attr-defined]
        assert worker.store.jobs.cancel(cancelled)
        report = commit_batch(worker.store, lease, result)  # type: ignore[arg-type]
        assert report.lost == (cancelled,)
        assert len(report.completed) == 19
        assert worker.store.jobs.get(cancelled).status == "cancelled"  # type: ignore[union-attr]
        assert worker.store.quarantine.count(QuarantineFilter(job_id=cancelled)) == 0
    finally:
        handler.close()
        worker.store.close()
    job_ids = (
        duckdb.connect()
        .execute(f"SELECT DISTINCT _cf_job_id FROM '{_parts_dir(demo_home)}/*.parquet' ORDER BY 1")
        .fetchall()
    )
    assert [r[0] for r in job_ids] == sorted(report.completed)


def test_recovery_publishes_committed_temps_and_deletes_abandoned_ones(demo_home: Path) -> None:
    worker, handler, lease, result = _run_batch_by_hand(demo_home)
    store = worker.store
    try:
        parts: BatchParts = result.parts[0]  # type: ignore[attr-defined]
        paths = parts.finish()
        ((final, temp_name),) = parts.files().items()
        temp = Path(temp_name)
        assert recover_parts(store, load_config(demo_home).output_dir).left_running == (
            str(temp),
        )  # its jobs still run: a live worker's temp is never touched
        report_before = store.jobs.lease_outputs(lease.token)  # type: ignore[attr-defined]
        assert {status for status, _ in report_before} == {"running"}
        # Commit the store side only, as if the worker died before renaming.
        from casparian_engine.runner.batch import _commit_transaction

        jobs = {j.id: j for j in lease.jobs}  # type: ignore[attr-defined]
        outcomes = result.outcomes  # type: ignore[attr-defined]
        _commit_transaction(store, lease, jobs, outcomes, {}, paths, {}, [parts])  # type: ignore[arg-type]
        recovery = recover_parts(store, load_config(demo_home).output_dir)
        assert recovery.published == (final,)
        assert not temp.exists() and Path(final).exists()
        # A temp whose jobs went back to the queue (dead worker) is deleted.
        abandoned = temp.with_name(".part-" + "ab" * 16 + "-0.parquet.tmp")
        abandoned.write_bytes(b"partial")
        assert recover_parts(store, load_config(demo_home).output_dir).deleted == (str(abandoned),)
        assert not abandoned.exists()
    finally:
        handler.close()
        store.close()


def test_backfill_of_some_files_keeps_the_other_files_rows_of_shared_parts(
    pristine_demo: Path, demo_home: Path, tmp_path: Path
) -> None:
    with Workspace.open(demo_home) as workspace:
        workspace.jobs.process("invoices", workers=1)
        before = (
            duckdb.connect()
            .execute(
                "SELECT count(*), count(DISTINCT _cf_job_id) "
                f"FROM '{_parts_dir(demo_home)}/*.parquet'"
            )
            .fetchone()
        )
        newer = tmp_path / "invoices-v2"
        shutil.copytree(pristine_demo / "parsers" / "invoices", newer)
        source = newer / "invoices.py"
        source.write_text(source.read_text().replace('version = "1.0.0"', 'version = "1.1.0"'))
        workspace.parsers.register(newer)
        result = workspace.outputs.backfill("invoices", limit=10, workers=1)
        assert result.swapped, result.reason
    rows, versions, sources = (
        duckdb.connect()
        .execute(
            "SELECT count(*), count(DISTINCT _cf_parser_version), "
            "count(DISTINCT _cf_source_hash) FILTER (WHERE _cf_parser_version = '1.1.0') "
            f"FROM '{_parts_dir(demo_home)}/*.parquet'"
        )
        .fetchone()
    )
    assert before is not None and rows == before[0]  # every file's rows once, none lost
    assert (versions, sources) == (2, 10)
    duplicates = (
        duckdb.connect()
        .execute(
            "SELECT count(*) FROM (SELECT _cf_source_hash, _cf_row FROM "
            f"'{_parts_dir(demo_home)}/*.parquet' GROUP BY ALL HAVING count(*) > 1)"
        )
        .fetchone()
    )
    assert duplicates == (0,)


def test_batches_commit_on_postgresql(
    tmp_path: Path, home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASPARIAN_STORE_URL", pg_url)
    demo = create_demo_workspace(tmp_path / "pg-demo", 150)
    _queue_invoices(demo.home_dir)
    worker = Worker(load_config(demo.home_dir), WorkerOptions(parser_names=("invoices",)))
    assert worker.store.dialect == "postgresql"
    worker.run()
    store = worker.store
    jobs = store.jobs.find(parser_name="invoices", limit=10_000)
    quarantined = store.quarantine.count(QuarantineFilter(parser_name="invoices"))
    audited = len(store.audit.list("job.completed", limit=10_000))
    store.close()
    assert jobs and {j.status for j in jobs} <= {"completed", "completed_with_warnings"}
    assert quarantined > 0 and quarantined == sum(j.rows_quarantined for j in jobs)
    assert audited == len(jobs)
    (written,) = (
        duckdb.connect()
        .execute(f"SELECT count(*) FROM '{_parts_dir(demo.home_dir)}/*.parquet'")
        .fetchone()
    )
    assert written == sum(j.rows_written for j in jobs)


def test_an_unapproved_contract_fails_jobs_trips_the_breaker_and_leaves_no_guest(
    pristine_demo: Path, demo_home: Path, tmp_path: Path
) -> None:
    changed = tmp_path / "invoices-unapproved"
    shutil.copytree(pristine_demo / "parsers" / "invoices", changed)
    source = changed / "invoices.py"
    source.write_text(source.read_text().replace('version = "1.0.0"', 'version = "1.2.0"'))
    contract = changed / "invoices.contract.yaml"
    contract.write_text(contract.read_text().replace("one invoice per file", "one per file"))
    with Workspace.open(demo_home) as workspace:
        workspace.parsers.register(changed)
    _queue_invoices(demo_home)
    worker = Worker(load_config(demo_home), WorkerOptions(parser_names=("invoices",)))
    worker.run()
    store = worker.store
    failed = store.jobs.find(status="failed", limit=100)
    paused = [h.parser_name for h in store.health.paused_parsers()]
    queued = store.jobs.counts(["invoices"])["queued"]
    store.close()
    assert len(failed) == 5 and {j.error_kind for j in failed} == {"ContractNotApproved"}
    # each failed before its file reached a guest: timed from its own attempt to its failure
    assert len({(j.started_at, j.finished_at) for j in failed}) == 5
    for job in failed:
        assert job.started_at and job.finished_at and job.started_at <= job.finished_at
    message = failed[0].error_message or ""
    assert message.startswith("output 'invoices': contract file ") and str(demo_home) in message
    assert "differs from approved contract 'invoices' version 1" in message
    assert paused == ["invoices"] and queued > 0  # the rest waits for `parser resume`
    assert not [p for p in psutil.Process().children(recursive=True) if p.is_running()]


def test_a_batch_whose_leases_all_went_and_temp_was_recovered_commits_nothing(
    demo_home: Path,
) -> None:
    worker, handler, lease, result = _run_batch_by_hand(demo_home)
    store = worker.store
    try:
        parts: BatchParts = result.parts[0]  # type: ignore[attr-defined]
        parts.finish()  # the temp is on disk, as after a big batch's first row group
        job_ids = [j.id for j in lease.jobs]  # type: ignore[attr-defined]
        assert store.jobs.release(lease.token, job_ids) == sorted(job_ids)  # type: ignore[attr-defined]
        assert len(recover_parts(store, load_config(demo_home).output_dir).deleted) == 1
        report = commit_batch(store, lease, result)  # type: ignore[arg-type]
        assert report.completed == () and sorted(report.lost) == sorted(job_ids)
        assert store.jobs.counts(["invoices"])["completed"] == 0
        assert store.audit.list("job.completed") == []
    finally:
        handler.close()
        store.close()
    assert not list(_parts_dir(demo_home).iterdir())


def test_each_job_of_a_batch_keeps_its_own_start_and_finish(demo_home: Path) -> None:
    queued = _queue_invoices(demo_home)
    worker = Worker(
        load_config(demo_home), WorkerOptions(parser_names=("invoices",), claim_batch=len(queued))
    )
    before = time.time()
    worker.run()
    after = time.time()
    jobs = worker.store.jobs.find(parser_name="invoices", limit=10_000)
    worker.store.close()
    assert len(jobs) == len(queued) and len({j.lease_token for j in jobs}) == 1  # one batch
    spans = sorted((j.started_at or 0.0, j.finished_at or 0.0) for j in jobs)
    assert len(set(spans)) == len(jobs)  # no two jobs share their times
    for start, finish in spans:
        assert before <= start < finish <= after
    # one guest parses one file at a time: each file starts once the previous one finished
    for (_, finish), (start, _) in itertools.pairwise(spans):
        assert finish <= start
    result = CliRunner().invoke(app, ["--home", str(demo_home), "jobs", "--limit", "5"])
    assert result.exit_code == 0
    assert "claim and commit times" not in result.output
