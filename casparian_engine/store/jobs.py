"""The job queue (``cf_jobs``): enqueue, atomic leased claims, heartbeats, retries, dead letter.

A claim is one ``UPDATE … RETURNING`` that moves queued jobs to ``running`` and stamps them with a
fresh lease token (PostgreSQL picks the rows with ``FOR UPDATE SKIP LOCKED``). Every later change a
worker makes — heartbeat, complete, fail — names that token and is refused once the lease is gone
(requeued after a missed heartbeat, cancelled, reset as an orphan), so a result commits only if its
worker still holds the job.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ..job_states import CANCELLED_SQL, LIVE_STATES, QUEUED_SQL, RUNNING_SQL, sql_states
from .db import Database, chunked
from .health import HealthRepository
from .history import HistoryRepository
from .job_models import (
    _COLUMNS,
    CANCELLED,
    COMPLETED,
    COMPLETED_WITH_WARNINGS,
    DEAD_LETTER,
    FAILED,
    JOB_STATES,
    QUEUED,
    REPLAYABLE_STATES,
    RUNNING,
    TERMINAL_STATES,
    DeadLetter,
    FailResult,
    Job,
    JobFailure,
    JobOutcome,
    Lease,
    NewJob,
    QueueCounts,
)
from .job_reads import _HISTORY_JOB, _HOLDS_INPUT, _SAME_INPUT, JobReads, scope_filter

__all__ = [
    "QUEUED",
    "RUNNING",
    "COMPLETED",
    "COMPLETED_WITH_WARNINGS",
    "FAILED",
    "DEAD_LETTER",
    "CANCELLED",
    "JOB_STATES",
    "TERMINAL_STATES",
    "REPLAYABLE_STATES",
    "Job",
    "NewJob",
    "Lease",
    "JobOutcome",
    "JobFailure",
    "FailResult",
    "DeadLetter",
    "QueueCounts",
    "JobRepository",
    "new_worker_id",
    "DUPLICATE",
]


DUPLICATE = "Duplicate"  # error kind of a job whose content another job already processed


def new_worker_id() -> str:
    """``host:pid:nonce`` — the host and pid let a restart recognise its own orphans."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


_STAGING = "cf_enqueue_staging"
LIVE_SQL = sql_states(LIVE_STATES)
_STAGED_COLUMNS = (
    "seq, parser_name, parser_version, file_id, input_path, input_hash, kind, batch_id, priority"
)
_STAGING_TABLE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (seq BIGINT NOT NULL, parser_name TEXT NOT NULL, "
    "parser_version TEXT NOT NULL, file_id BIGINT, input_path TEXT NOT NULL, input_hash TEXT, "
    "kind TEXT NOT NULL, batch_id TEXT, priority INTEGER NOT NULL)"
)


_COMPLETE_CHUNK = 500
_COMPLETE_COLUMNS = (
    "id, token, status, started_at, finished_at, emitted, written, quarantined, outputs, log_path"
)


def _complete_sql(count: int, dialect: str) -> str:
    """Complete ``count`` jobs in one statement, each only while its lease token holds it."""
    real = "DOUBLE PRECISION" if dialect == "postgresql" else "REAL"
    row = (
        f"(CAST(? AS BIGINT), ?, ?, CAST(? AS {real}), CAST(? AS {real}), CAST(? AS BIGINT), "
        "CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?)"
    )
    values = ", ".join([row] * count)
    return (
        f"WITH v ({_COMPLETE_COLUMNS}) AS (VALUES {values}) "
        "UPDATE cf_jobs SET status = v.status, started_at = COALESCE(v.started_at, "
        "cf_jobs.started_at), finished_at = v.finished_at, heartbeat_at = NULL, "
        "rows_emitted = v.emitted, rows_written = v.written, rows_quarantined = v.quarantined, "
        "output_paths = v.outputs, log_path = v.log_path, error_kind = NULL, "
        "error_message = NULL, error_trace = NULL FROM v WHERE cf_jobs.id = v.id "
        f"AND cf_jobs.lease_token = v.token AND cf_jobs.status = {RUNNING_SQL} "
        "RETURNING cf_jobs.id, cf_jobs.parser_name, cf_jobs.parser_version, cf_jobs.input_hash"
    )


def _complete_params(results: Sequence[tuple[int, str, JobOutcome]], now: float) -> list[Any]:
    params: list[Any] = []
    for job_id, token, outcome in results:
        params += [
            job_id,
            token,
            outcome.status,
            outcome.started_at,
            now if outcome.finished_at is None else outcome.finished_at,
            outcome.rows_emitted,
            outcome.rows_written,
            outcome.rows_quarantined,
            json.dumps(list(outcome.output_paths)),
            outcome.log_path,
        ]
    return params


def _enqueue_staged_sql(skip_processed: bool) -> str:
    """Queue the staged jobs that are not queued or running (nor processed, if asked)."""
    active = (
        "FROM cf_jobs j WHERE j.parser_name = s.parser_name AND j.parser_version = "
        f"s.parser_version AND j.kind = s.kind AND j.status IN ({LIVE_SQL})"
    )
    checks = [
        # by content when the job has a hash (the indexed case), else by path
        f"NOT EXISTS (SELECT 1 {active} AND j.input_hash = s.input_hash)",
        f"NOT EXISTS (SELECT 1 {active} AND s.input_hash IS NULL AND j.input_path = s.input_path)",
    ]
    if skip_processed:
        # a process job is the one job of its file for this version unless cancelled: a failed
        # one is run again by `jobs replay`, never by a second job (which would double-write)
        # (hash and path cases apart: an OR would keep SQLite off the (parser, version, hash) index)
        owned = (
            "FROM cf_jobs j WHERE j.kind = 'process' AND j.parser_name = s.parser_name "
            f"AND j.parser_version = s.parser_version AND j.status <> {CANCELLED_SQL}"
        )
        checks.append(
            f"(s.kind <> 'process' OR (NOT EXISTS (SELECT 1 {owned} "
            "AND j.input_hash = s.input_hash) AND NOT EXISTS (SELECT 1 "
            f"{owned} AND s.input_hash IS NULL AND j.input_path = s.input_path)))"
        )
        checks.append(
            "NOT EXISTS (SELECT 1 FROM cf_processing_history h WHERE h.input_hash = s.input_hash "
            "AND h.parser_name = s.parser_name AND h.parser_version = s.parser_version)"
        )
    return (
        "INSERT INTO cf_jobs (parser_name, parser_version, file_id, input_path, input_hash, "
        "status, kind, batch_id, priority, created_at) "
        "SELECT s.parser_name, s.parser_version, s.file_id, s.input_path, s.input_hash, "
        f"{QUEUED_SQL}, s.kind, s.batch_id, s.priority, ? FROM {_STAGING} s "
        f"WHERE {' AND '.join(checks)} ORDER BY s.seq RETURNING id"
    )


class JobRepository(JobReads):
    """The job queue: enqueue, leased claims, heartbeats, completion, retries and dead letters."""

    def __init__(
        self,
        db: Database,
        history: HistoryRepository,
        health: HealthRepository,
        max_retries: int = 3,
        retry_backoff_s: Sequence[float] = (1.0, 4.0, 16.0),
    ) -> None:
        self.db = db
        self.history = history
        self.health = health
        self.max_retries = max_retries
        self.retry_backoff_s = tuple(retry_backoff_s) or (0.0,)

    # -- enqueue ---------------------------------------------------------------------------
    def enqueue(self, jobs: Sequence[NewJob], skip_processed: bool = True) -> list[int]:
        """Queue jobs in one transaction; returns the new ids, in the order of ``jobs``.

        A job is skipped when the same parser version already processed its content (history) or
        already has it queued or running — unless ``skip_processed`` is False (forced backfill).
        The jobs are staged in a temporary table and queued by one ``INSERT … SELECT`` that checks
        both conditions in SQL, so queueing 50,000 files is one statement, not 50,000.
        """
        staged: list[tuple[Any, ...]] = []
        seen: set[tuple[str, str, str]] = set()
        for job in jobs:
            key = (job.parser_name, job.parser_version, job.input_hash or "\0" + job.input_path)
            if key in seen:
                continue
            seen.add(key)
            staged.append(
                (
                    len(staged),
                    job.parser_name,
                    job.parser_version,
                    job.file_id,
                    job.input_path,
                    job.input_hash,
                    job.kind,
                    job.batch_id,
                    job.priority,
                )
            )
        if not staged:
            return []
        with self.db.transaction():
            self.db.execute(_STAGING_TABLE)
            self.db.execute(f"DELETE FROM {_STAGING}")
            self.db.executemany(
                f"INSERT INTO {_STAGING} ({_STAGED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                staged,
            )
            rows = self.db.query(_enqueue_staged_sql(skip_processed), (time.time(),))
            self.db.execute(f"DELETE FROM {_STAGING}")
        return sorted(int(row[0]) for row in rows)  # ids grow in staging order

    # -- claim and lease -------------------------------------------------------------------
    def claim(
        self,
        worker_id: str,
        limit: int = 1,
        parser_names: Sequence[str] | None = None,
        kind: str | None = None,
        now: float | None = None,
        share: int = 1,
    ) -> Lease:
        """Atomically move up to ``limit`` due jobs to ``running`` under a new lease token.

        With ``share`` workers on the queue, a short queue is split fairly: at most
        ``ceil(due jobs / share)`` are claimed, so one worker does not take them all.
        """
        stamp, stamp_params = self.db.lease_clock(now)  # the lease's start: the server's clock
        now = time.time() if now is None else now
        token = uuid.uuid4().hex
        where, params = self._claimable(parser_names, kind)
        if share > 1:
            row = self.db.query_one(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM cf_jobs WHERE {where} AND not_before <= ? "
                "LIMIT ?) due",
                (*params, now, limit * share),
            )
            due = int(row[0]) if row else 0
            limit = max(1, min(limit, -(-due // share)))
        pick = (
            f"SELECT id FROM cf_jobs WHERE {where} AND not_before <= ? ORDER BY priority DESC, id"
        )
        if self.db.dialect == "postgresql":
            # ARRAY(...) runs the pick once; a plain IN may be re-run and grab more rows.
            chosen = f"id = ANY(ARRAY({pick} LIMIT ? FOR UPDATE SKIP LOCKED))"
        else:
            chosen = f"id IN ({pick} LIMIT ?)"
        rows = self.db.query(
            f"UPDATE cf_jobs SET status = {RUNNING_SQL}, lease_token = ?, worker_id = ?, "
            f"heartbeat_at = {stamp}, started_at = {stamp} "
            f"WHERE status = {QUEUED_SQL} AND {chosen} RETURNING {_COLUMNS}",
            (token, worker_id, *stamp_params, *stamp_params, *params, now, limit),
        )
        jobs = sorted((Job.from_row(r) for r in rows), key=lambda j: (-j.priority, j.id))
        return Lease(token, worker_id, tuple(jobs))

    @staticmethod
    def _claimable(parser_names: Sequence[str] | None, kind: str | None) -> tuple[str, list[Any]]:
        clauses = [
            f"status = {QUEUED_SQL}",
            "parser_name NOT IN (SELECT parser_name FROM cf_parser_health "
            "WHERE paused_at IS NOT NULL)",
        ]
        return scope_filter(clauses, [], parser_names, kind)

    def next_due(
        self, parser_names: Sequence[str] | None = None, kind: str | None = None
    ) -> float | None:
        """When the earliest claimable queued job becomes due (None: nothing left to claim)."""
        where, params = self._claimable(parser_names, kind)
        row = self.db.query_one(f"SELECT MIN(not_before) FROM cf_jobs WHERE {where}", params)
        return None if row is None or row[0] is None else float(row[0])

    def heartbeat(self, token: str, now: float | None = None) -> set[int]:
        """Renew a lease; returns the ids this token still holds (the others were taken away)."""
        stamp, stamp_params = self.db.lease_clock(now)
        rows = self.db.query(
            f"UPDATE cf_jobs SET heartbeat_at = {stamp} WHERE lease_token = ? "
            f"AND status = {RUNNING_SQL} RETURNING id",
            (*stamp_params, token),
        )
        return {int(r[0]) for r in rows}

    def requeue_stale(self, lease_timeout_s: float, now: float | None = None) -> list[int]:
        """Requeue running jobs whose worker sent no heartbeat for ``lease_timeout_s`` (by the
        server's clock on PostgreSQL: see ``Database.lease_clock``)."""
        stamp, stamp_params = self.db.lease_clock(now)
        return self._release(
            f"status = {RUNNING_SQL} AND heartbeat_at < {stamp} - ?",
            (*stamp_params, lease_timeout_s),
            "lease_expired",
        )

    def reset_orphans(self, host: str, is_alive: Callable[[int], bool]) -> list[int]:
        """On start-up: requeue running jobs of this host's workers whose process is gone."""
        rows = self.db.query(
            f"SELECT DISTINCT worker_id FROM cf_jobs WHERE status = {RUNNING_SQL} "
            "AND worker_id LIKE ? ESCAPE '\\'",
            (_starting_with(f"{host}:"),),
        )
        released: list[int] = []
        for (worker_id,) in rows:
            pid_text = str(worker_id).split(":")[1] if str(worker_id).count(":") >= 2 else ""
            if pid_text.isdigit() and is_alive(int(pid_text)):
                continue
            released += self._release(
                f"status = {RUNNING_SQL} AND worker_id = ?", (worker_id,), "orphaned"
            )
        return released

    def release(self, token: str, job_ids: Sequence[int]) -> list[int]:
        """Hand claimed but unstarted jobs back to the queue (graceful stop, paused parser)."""
        if not job_ids:
            return []
        marks = ", ".join("?" for _ in job_ids)
        return self._release(
            f"status = {RUNNING_SQL} AND lease_token = ? AND id IN ({marks})",
            (token, *job_ids),
            "released",
        )

    def release_worker(self, host: str, pid: int, reason: str, message: str) -> list[int]:
        """Requeue every job a worker process (``host``, ``pid``) left running, e.g. when a stop
        killed it; ``reason`` and ``message`` say why on each job."""
        return self._release(
            f"status = {RUNNING_SQL} AND worker_id LIKE ? ESCAPE '\\'",
            (_starting_with(f"{host}:{pid}:"),),
            reason,
            message,
        )

    def _release(
        self, where: str, params: tuple[Any, ...], reason: str, message: str | None = None
    ) -> list[int]:
        rows = self.db.query(
            f"UPDATE cf_jobs SET status = {QUEUED_SQL}, lease_token = NULL, worker_id = NULL, "
            "heartbeat_at = NULL, error_kind = ?, error_message = COALESCE(?, error_message) "
            f"WHERE {where} RETURNING id",
            (reason, message, *params),
        )
        return sorted(int(r[0]) for r in rows)

    # -- results ---------------------------------------------------------------------------
    def complete(self, job_id: int, token: str, outcome: JobOutcome) -> bool:
        """Commit a success if ``token`` still holds the job; records history, resets breaker."""
        return self.complete_many([(job_id, token, outcome)])[0]

    def complete_many(self, results: Sequence[tuple[int, str, JobOutcome]]) -> list[bool]:
        """Commit several successes in one transaction; one flag per result (False = lease lost).

        Set-based: each chunk of results is one ``UPDATE … FROM (VALUES …)`` that checks every
        job's lease token, and the history rows of the jobs it completed are one batched insert,
        so a claim of 256 jobs commits in a handful of round trips (on PostgreSQL a round trip,
        not the fsync at commit, is what a completion costs)."""
        now = time.time()
        held: set[int] = set()
        succeeded_parsers: set[str] = set()
        with self.db.transaction():
            for chunk in chunked(results, _COMPLETE_CHUNK):
                rows = self.db.query(
                    _complete_sql(len(chunk), self.db.dialect), _complete_params(chunk, now)
                )
                history = []
                for job_id, parser_name, parser_version, input_hash in rows:
                    held.add(int(job_id))
                    succeeded_parsers.add(str(parser_name))
                    if input_hash:
                        history.append(
                            (str(input_hash), str(parser_name), str(parser_version), int(job_id))
                        )
                self.history.record_many(history)
            for parser_name in sorted(succeeded_parsers):
                self.health.record_success(parser_name)
        return [job_id in held for job_id, _token, _outcome in results]

    def fail(self, job_id: int, token: str, failure: JobFailure) -> FailResult:
        """Retry a transient failure with backoff, dead-letter it when retries are spent,
        fail a permanent one at once; counts terminal failures toward the circuit breaker.
        A terminal failure keeps the failed run's own start and finish when ``failure`` has
        them (else the claim time and now)."""
        now = time.time()
        with self.db.transaction():
            row = self.db.query_one(
                "SELECT retry_count, parser_name, input_path FROM cf_jobs "
                f"WHERE id = ? AND lease_token = ? AND status = {RUNNING_SQL}",
                (job_id, token),
            )
            if row is None:
                return FailResult("lost")
            retry_count, parser_name, input_path = int(row[0]), str(row[1]), str(row[2])
            error_fields = (failure.kind, failure.message, failure.trace, failure.log_path)
            if failure.transient and retry_count < self.max_retries:
                backoff = self.retry_backoff_s[min(retry_count, len(self.retry_backoff_s) - 1)]
                self.db.execute(
                    f"UPDATE cf_jobs SET status = {QUEUED_SQL}, retry_count = retry_count + 1, "
                    "not_before = ?, lease_token = NULL, worker_id = NULL, heartbeat_at = NULL, "
                    "error_kind = ?, error_message = ?, error_trace = ?, log_path = ? "
                    "WHERE id = ?",
                    (now + backoff, *error_fields, job_id),
                )
                return FailResult(QUEUED, retry_at=now + backoff, retry_in=backoff)
            status = DEAD_LETTER if failure.transient else FAILED
            finished = now if failure.finished_at is None else failure.finished_at
            self.db.execute(
                "UPDATE cf_jobs SET status = ?, started_at = COALESCE(?, started_at), "
                "finished_at = ?, heartbeat_at = NULL, "
                "error_kind = ?, error_message = ?, error_trace = ?, log_path = ? WHERE id = ?",
                (status, failure.started_at, finished, *error_fields, job_id),
            )
            if status == DEAD_LETTER:
                self.db.execute(
                    "INSERT INTO cf_dead_letter "
                    "(job_id, parser_name, input_path, error, retry_count, failed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET "
                    "error = excluded.error, retry_count = excluded.retry_count, "
                    "failed_at = excluded.failed_at, replayed_at = NULL",
                    (
                        job_id,
                        parser_name,
                        input_path,
                        f"{failure.kind}: {failure.message}",
                        retry_count,
                        finished,
                    ),
                )
            if failure.kind == DUPLICATE:
                return FailResult(status)  # a refused double write is no parser fault
            tripped = self.health.record_failure(parser_name, f"{failure.kind}: {failure.message}")
        return FailResult(status, breaker_tripped=tripped)

    # -- operator actions ------------------------------------------------------------------
    def cancel(self, job_id: int) -> bool:
        """Cancel a queued or running job; a running worker loses its lease and its result, and
        the job keeps the worker's id until the worker says it stopped (``let_go``)."""
        return self.cancel_naming_worker(job_id) is not None

    def cancel_naming_worker(self, job_id: int) -> str | None:
        """``cancel``, returning who held the job at that moment: the worker's id, "" when no
        worker did (it was queued), None when nothing was cancelled. Read by the same statement,
        so a worker claiming the job just before the cancel is never missed."""
        row = self.db.query_one(
            f"UPDATE cf_jobs SET status = {CANCELLED_SQL}, finished_at = ?, lease_token = NULL, "
            f"heartbeat_at = NULL WHERE id = ? AND status IN ({LIVE_SQL}) RETURNING id, worker_id",
            (time.time(), job_id),
        )
        return None if row is None else str(row[1] or "")

    def let_go(self, worker_id: str, job_ids: Sequence[int]) -> list[int]:
        """A worker says it stopped working on these jobs, taken from it (cancelled, requeued):
        a cancelled job keeps its worker until then (``cancel_stopped`` reads that)."""
        if not job_ids:
            return []
        marks = ", ".join("?" for _ in job_ids)
        rows = self.db.query(
            f"UPDATE cf_jobs SET worker_id = NULL WHERE id IN ({marks}) AND worker_id = ? "
            f"AND status = {CANCELLED_SQL} RETURNING id",
            (*job_ids, worker_id),
        )
        return sorted(int(r[0]) for r in rows)

    def cancel_stopped(self, job_id: int) -> bool:
        """Whether a cancelled job's work has stopped (no worker still holds it)."""
        row = self.db.query_one("SELECT worker_id FROM cf_jobs WHERE id = ?", (job_id,))
        return row is None or row[0] is None

    def replay(self, job_id: int) -> bool:
        """Requeue a failed, dead-lettered or cancelled job with a fresh retry budget; refused
        (False, see ``replay_refusal``) while another job holds or processed the same input."""
        now = time.time()
        with self.db.transaction():
            row = self.db.query_one(
                f"UPDATE cf_jobs SET status = {QUEUED_SQL}, retry_count = 0, not_before = 0, "
                "lease_token = NULL, worker_id = NULL, heartbeat_at = NULL, started_at = NULL, "
                f"finished_at = NULL WHERE id = ? AND status IN ({sql_states(REPLAYABLE_STATES)}) "
                "AND NOT EXISTS (SELECT 1 FROM cf_jobs j JOIN cf_jobs o ON "
                f"{_SAME_INPUT} WHERE j.id = cf_jobs.id AND {_HOLDS_INPUT}) AND NOT EXISTS "
                f"(SELECT 1 FROM cf_jobs j WHERE j.id = cf_jobs.id AND {_HISTORY_JOB} IS NOT NULL) "
                "RETURNING id",
                (job_id,),
            )
            if row is None:
                return False
            self.db.execute(
                "UPDATE cf_dead_letter SET replayed_at = ? WHERE job_id = ?", (now, job_id)
            )
        return True

    def set_output_paths(self, paths_by_job: dict[int, tuple[str, ...]]) -> None:
        """Record where finished jobs' outputs now live (after a backfill swap)."""
        with self.db.transaction():
            for job_id, paths in paths_by_job.items():
                self.db.execute(
                    "UPDATE cf_jobs SET output_paths = ? WHERE id = ?",
                    (json.dumps(list(paths)), job_id),
                )

    def cancel_unfinished(self, kind: str, keep_batch: str | None = None) -> list[int]:
        """Cancel queued or running jobs of a kind (e.g. a crashed backfill's leftovers)."""
        rows = self.db.query(
            f"UPDATE cf_jobs SET status = {CANCELLED_SQL}, finished_at = ?, lease_token = NULL "
            f"WHERE kind = ? AND status IN ({LIVE_SQL}) AND COALESCE(batch_id, '') <> ? "
            "RETURNING id",
            (time.time(), kind, keep_batch or ""),
        )
        return sorted(int(r[0]) for r in rows)


def _starting_with(prefix: str) -> str:
    """A LIKE pattern (with ``ESCAPE '\\'``) for values starting with ``prefix`` taken literally:
    a host name's ``_`` would otherwise match any character (another host's workers)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
