"""A worker's claimed batch of jobs run as one unit: one Parquet part per output, one commit.

A batch handler (``run_batch``) processes the jobs of a lease and returns a ``BatchResult``: the
``BatchParts`` holding the rows of the files that succeeded, each job's outcome or failure, and the
jobs it did not start. ``commit_batch`` then publishes in two phases: temps fsynced, ONE store
transaction that completes the jobs with their final part paths, fails the failed ones, stores the
quarantined rows in ``cf_quarantine`` and writes the audit entries, and only then the renames. A job
whose lease was lost meanwhile has its rows cut out of the parts before the transaction is retried.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..config import Config
from ..digests import file_sha256
from ..logs import JobLog, job_log_path
from ..store import Store
from ..store.health import breaker_message
from ..store.jobs import DUPLICATE, FailResult, Job, JobFailure, JobOutcome, Lease
from .parts import BatchParts

MAX_COMMIT_ATTEMPTS = 5


class JobLogs:
    """Each job's log, opened only when the job has something to say (quiet jobs write none)."""

    def __init__(self, config: Config, worker_id: str) -> None:
        self.config = config
        self.worker_id = worker_id
        self._logs: dict[int, JobLog] = {}

    def for_job(self, job: Job) -> JobLog:
        log = self._logs.get(job.id)
        if log is None:
            path = job_log_path(self.config.logs_dir, job.id, job.started_at)
            log = JobLog(path, self.config.settings.log_cap_bytes)
            log.note(
                "info",
                f"job {job.id}: {job.parser_name} {job.parser_version} on {job.input_path} "
                f"(attempt {job.retry_count + 1}, worker {self.worker_id})",
            )
            self._logs[job.id] = log
        return log

    def path_if_written(self, job_id: int) -> str | None:
        log = self._logs.get(job_id)
        return str(log.path) if log is not None and log.written else None

    def close(self) -> None:
        for log in self._logs.values():
            log.close()
        self._logs.clear()


@dataclass
class BatchContext:
    """What a batch handler needs: the lease's jobs, where outputs go, and when to stop."""

    lease: Lease
    config: Config
    output_root: Path
    logs: JobLogs
    stop: threading.Event = field(default_factory=threading.Event)
    taken: dict[int, threading.Event] = field(default_factory=dict)
    """Per job of the lease, set once the job was taken away (cancelled, requeued) while the
    batch runs: its work should stop, its result is refused at the commit anyway."""
    stopped: Callable[[Sequence[int]], None] = field(default=lambda job_ids: None)
    """The handler calls this once it stopped the work of jobs taken away (e.g. killed the
    guest parsing their files), so a waiting cancel learns the work really ended."""
    file_done: Callable[[bool, int], None] = field(default=lambda ok, rows_quarantined: None)
    """The handler calls this as each file of the batch finishes (went through or failed, and
    its quarantined rows), before the batch commits: the pool shows files as they finish."""


@dataclass
class BatchResult:
    """What a batch handler did: rows in parts, outcomes, failures, and jobs left unstarted."""

    parts: list[BatchParts] = field(default_factory=list)
    outcomes: dict[int, JobOutcome] = field(default_factory=dict)
    failures: dict[int, JobFailure] = field(default_factory=dict)
    unstarted: list[int] = field(default_factory=list)
    rows_written: int = 0

    def abort(self) -> None:
        for parts in self.parts:
            parts.abort()


class BatchHandler(Protocol):
    def run_batch(self, context: BatchContext) -> BatchResult: ...


class AlreadyProcessed(Exception):
    """Some completed jobs' content was already processed by other jobs of the same version."""

    def __init__(self, originals: dict[int, int]) -> None:
        super().__init__(f"content already processed for jobs {sorted(originals)}")
        self.originals = originals


class LeaseLost(Exception):
    """Some jobs of the batch were taken away (cancelled, requeued) before the commit."""

    def __init__(self, job_ids: set[int]) -> None:
        super().__init__(f"lease lost for jobs {sorted(job_ids)}")
        self.job_ids = job_ids


@dataclass(frozen=True)
class CommitReport:
    """How a batch commit ended: jobs completed, failure results, jobs whose lease was lost."""

    completed: tuple[int, ...]
    failed: dict[int, FailResult]
    lost: tuple[int, ...]


def duplicate_failure(job: Job, original: int, refused: JobOutcome | None = None) -> JobFailure:
    """How a job is failed when its content was already processed by job ``original``: its rows
    are cut from the batch's parts, never written, and it keeps the span of its ``refused``
    run."""
    return JobFailure(
        DUPLICATE,
        f"not written: its content was already processed by job {original} "
        f"with {job.parser_name} {job.parser_version}",
        False,
        started_at=refused.started_at if refused else None,
        finished_at=refused.finished_at if refused else None,
    )


def commit_batch(store: Store, lease: Lease, result: BatchResult) -> CommitReport:
    """Two-phase publish of a batch: fsynced temps, one store transaction, then the renames."""
    jobs = {job.id: job for job in lease.jobs}
    paths: dict[int, tuple[str, ...]] = {}
    outcomes = dict(result.outcomes)
    failures = dict(result.failures)
    lost: set[int] = set()
    try:
        for parts in result.parts:
            paths.update(parts.finish())
    except FileNotFoundError:
        # Recovery deletes a temp only when none of its jobs still runs: every lease is gone.
        result.abort()
        lost, outcomes, paths = set(outcomes), {}, {}
    for _attempt in range(MAX_COMMIT_ATTEMPTS):
        part_hashes = {
            final: file_sha256(temp)  # for the audit entry of each job that wrote to it
            for parts in result.parts
            for final, temp in parts.files().items()
        }
        try:
            failed = _commit_transaction(
                store, lease, jobs, outcomes, failures, paths, part_hashes, result.parts
            )
        except AlreadyProcessed as exc:
            # last line of defence against a double write: their rows are never published
            for parts in result.parts:
                parts.exclude(set(exc.originals))
            for job_id, original in exc.originals.items():
                paths.pop(job_id, None)
                refused = outcomes.pop(job_id, None)
                failures[job_id] = duplicate_failure(jobs[job_id], original, refused)
            continue
        except LeaseLost as exc:
            lost |= exc.job_ids
            for parts in result.parts:
                parts.exclude(exc.job_ids)
            outcomes = {k: v for k, v in outcomes.items() if k not in exc.job_ids}
            paths = {k: v for k, v in paths.items() if k not in exc.job_ids}
            continue
        for parts in result.parts:
            parts.publish()
        return CommitReport(tuple(sorted(outcomes)), failed, tuple(sorted(lost)))
    result.abort()
    raise RuntimeError(
        f"batch {lease.token}: leases kept changing during {MAX_COMMIT_ATTEMPTS} commits"
    )


def _commit_transaction(
    store: Store,
    lease: Lease,
    jobs: dict[int, Job],
    outcomes: dict[int, JobOutcome],
    failures: dict[int, JobFailure],
    paths: dict[int, tuple[str, ...]],
    part_hashes: dict[str, str],
    all_parts: list[BatchParts],
) -> dict[int, FailResult]:
    """The one transaction of a batch commit; raises ``LeaseLost`` (rolled back) if any
    completed job is no longer held."""
    with store.db.transaction():
        flags = store.jobs.complete_many(
            [
                (job_id, lease.token, replace(outcome, output_paths=paths.get(job_id, ())))
                for job_id, outcome in outcomes.items()
            ]
        )
        lost = {job_id for job_id, held in zip(outcomes, flags, strict=True) if not held}
        if lost:
            raise LeaseLost(lost)
        # checked after this commit's own history rows: a concurrent commit of the same content
        # (PostgreSQL) has by now either won the history row or waits for this one
        originals = store.jobs.already_processed(list(outcomes))
        if originals:
            raise AlreadyProcessed(originals)
        failed = {
            job_id: store.jobs.fail(job_id, lease.token, failure)
            for job_id, failure in failures.items()
        }
        keep = set(outcomes) | {
            k for k, v in failed.items() if v.status != "lost" and failures[k].kind != DUPLICATE
        }
        for parts in all_parts:
            store_quarantine(store, parts, keep)
        store.audit.record_many(
            [
                completed_entry(
                    jobs[job_id],
                    outcome,
                    {path: part_hashes.get(path) for path in paths.get(job_id, ())},
                )
                for job_id, outcome in outcomes.items()
            ]
            + [
                failed_entry(jobs[job_id], failures[job_id], fail_result)
                for job_id, fail_result in failed.items()
                if fail_result.status != "lost"
            ]
        )
    return failed


AuditRecord = tuple[str, str, dict[str, Any]]


def completed_entry(job: Job, outcome: JobOutcome, outputs: dict[str, str | None]) -> AuditRecord:
    """The audit entry of a completed job; ``outputs`` maps each output file to its SHA-256."""
    return (
        "job.completed",
        str(job.id),
        {
            "parser": job.parser_name,
            "version": job.parser_version,
            "input_path": job.input_path,
            "input_hash": job.input_hash,
            "rows_written": outcome.rows_written,
            "rows_quarantined": outcome.rows_quarantined,
            "outputs": outputs,
        },
    )


def failed_entry(job: Job, failure: JobFailure, result: FailResult) -> AuditRecord:
    """The audit entry of a failed job, with where the failure sent it (``result.status``)."""
    return (
        "job.failed",
        str(job.id),
        {
            "parser": job.parser_name,
            "version": job.parser_version,
            "input_path": job.input_path,
            "input_hash": job.input_hash,
            "error": f"{failure.kind}: {failure.message}",
            "status": result.status,
        },
    )


def store_quarantine(store: Store, parts: BatchParts, keep: set[int]) -> int:
    """Insert the kept jobs' quarantined rows into ``cf_quarantine`` (caller's transaction)."""
    stored = 0
    for job_id, items in parts.quarantine.items():
        if job_id not in keep:
            continue
        for table, lineage in items:
            stored += store.quarantine.add(
                lineage.job_id,
                lineage.parser_name,
                lineage.parser_version,
                lineage.output,
                lineage.contract_hash or parts.contract_hashes.get(lineage.output),
                lineage.source_path,
                lineage.source_hash,
                table,
                lineage.source_row_unit,
            )
    return stored


def log_commit(logs: JobLogs, jobs: dict[int, Job], report: CommitReport, threshold: int) -> None:
    """Tell each failed or lost job's log how it ended."""
    for job_id, fail_result in report.failed.items():
        log = logs.for_job(jobs[job_id])
        log.write("info", f"job is now {fail_result.text}")
        if fail_result.breaker_tripped:
            log.write("error", breaker_message(jobs[job_id].parser_name, threshold))
    for job_id in report.lost:
        logs.for_job(jobs[job_id]).write(
            "warning",
            "lease lost (the job was requeued or cancelled while this worker ran it): the "
            "commit was refused and the job's rows were discarded from the staged parts",
        )
