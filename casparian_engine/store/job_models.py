"""Plain records of the job queue: jobs, leases, outcomes, failures, dead letters, counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..job_states import JOB_STATES, REPLAYABLE_STATES, TERMINAL_STATES, JobState

QUEUED, RUNNING = JobState.QUEUED, JobState.RUNNING
COMPLETED, COMPLETED_WITH_WARNINGS = JobState.COMPLETED, JobState.COMPLETED_WITH_WARNINGS
FAILED, DEAD_LETTER, CANCELLED = JobState.FAILED, JobState.DEAD_LETTER, JobState.CANCELLED
__all__ = ["JOB_STATES", "REPLAYABLE_STATES", "TERMINAL_STATES", "JobState"]

_COLUMNS = (
    "id, parser_name, parser_version, file_id, input_path, input_hash, status, kind, batch_id, "
    "priority, retry_count, not_before, lease_token, worker_id, heartbeat_at, created_at, "
    "started_at, finished_at, error_kind, error_message, error_trace, rows_emitted, rows_written, "
    "rows_quarantined, output_paths, log_path"
)


@dataclass(frozen=True)
class Job:
    """One row of ``cf_jobs``."""

    id: int
    parser_name: str
    parser_version: str
    file_id: int | None
    input_path: str
    input_hash: str | None
    status: str
    kind: str
    batch_id: str | None
    priority: int
    retry_count: int
    not_before: float
    lease_token: str | None
    worker_id: str | None
    heartbeat_at: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    error_kind: str | None
    error_message: str | None
    error_trace: str | None
    rows_emitted: int
    rows_written: int
    rows_quarantined: int
    output_paths: tuple[str, ...]
    log_path: str | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Job:
        """A job from a row of ``_COLUMNS`` (output paths decoded from JSON)."""
        values = list(row)
        values[24] = tuple(json.loads(values[24] or "[]"))
        return cls(*values)


@dataclass(frozen=True)
class NewJob:
    """A job to enqueue: which parser version runs on which input."""

    parser_name: str
    parser_version: str
    input_path: str
    input_hash: str | None = None
    file_id: int | None = None
    kind: str = "process"
    batch_id: str | None = None
    priority: int = 0


@dataclass(frozen=True)
class Lease:
    """Jobs one claim handed to a worker, all stamped with ``token``."""

    token: str
    worker_id: str
    jobs: tuple[Job, ...]


@dataclass(frozen=True)
class JobOutcome:
    """What a successful run produced; the status depends on whether rows were quarantined."""

    rows_emitted: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    output_paths: tuple[str, ...] = ()
    log_path: str | None = None
    # when this file's own run began and ended (a batch handler that times each file sets
    # them); None: the claim time and the commit time
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def status(self) -> str:
        return COMPLETED_WITH_WARNINGS if self.rows_quarantined else COMPLETED


@dataclass(frozen=True)
class JobFailure:
    """Why a run failed; only transient failures are retried."""

    kind: str
    message: str
    transient: bool = False
    trace: str = ""
    log_path: str | None = None
    # when the failed run began and ended (as ``JobOutcome``: set by a handler that times each
    # file); None: the claim time and the time the failure is recorded
    started_at: float | None = None
    finished_at: float | None = None


@dataclass(frozen=True)
class FailResult:
    """Where a failed job went: ``queued`` (retry), ``failed``, ``dead_letter`` or ``lost``."""

    status: str
    breaker_tripped: bool = False
    retry_at: float | None = None
    retry_in: float | None = None  # the backoff before that retry, in seconds

    @property
    def text(self) -> str:
        """The new state as a job's log says it: ``queued (retry in 4 s)``, ``dead_letter``."""
        if self.status == QUEUED and self.retry_in is not None:
            return f"queued (retry in {self.retry_in:g} s)"
        return str(self.status)


@dataclass(frozen=True)
class DeadLetter:
    """A job that failed too often, with its last error, kept until replayed."""

    job_id: int
    parser_name: str
    input_path: str
    error: str
    retry_count: int
    failed_at: float
    replayed_at: float | None


@dataclass(frozen=True)
class QueueCounts:
    """Job counts by state, for progress bars and "2 running, 5 pending"."""

    by_status: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, status: str) -> int:
        return self.by_status.get(status, 0)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def finished(self) -> int:
        return sum(self[s] for s in TERMINAL_STATES)
