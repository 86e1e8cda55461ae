"""The read side of the job queue: jobs, dead letters, counts and row totals, lease outputs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..job_states import ERROR_STATES, LIVE_STATES, SUCCEEDED_STATES, is_live, sql_states
from .db import Database
from .job_models import _COLUMNS, DeadLetter, Job, QueueCounts

# Another job ``o`` for the same parser version and input as job ``j`` (content, else path).
_SAME_INPUT = (
    "o.id <> j.id AND o.parser_name = j.parser_name AND o.parser_version = j.parser_version "
    "AND (o.input_hash = j.input_hash OR (j.input_hash IS NULL AND o.input_path = j.input_path))"
)
# ... that holds it: queued or running (any kind), or completed (same kind).
_HOLDS_INPUT = (
    f"(o.status IN ({sql_states(LIVE_STATES)}) OR (o.status IN ({sql_states(SUCCEEDED_STATES)}) "
    "AND o.kind = j.kind))"
)
# The other job that history says processed job ``j``'s content with its version.
_HISTORY_JOB = (
    "(SELECT COALESCE(h.job_id, -1) FROM cf_processing_history h WHERE h.input_hash = j.input_hash "
    "AND h.parser_name = j.parser_name AND h.parser_version = j.parser_version "
    "AND COALESCE(h.job_id, -1) <> j.id)"
)


def scope_filter(
    clauses: list[str],
    params: list[Any],
    parser_names: Sequence[str] | None,
    kind: str | None,
    batch_id: str | None = None,
) -> tuple[str, list[Any]]:
    """``clauses`` plus the jobs' scope (these parsers, this kind and batch; None: any) as one
    WHERE clause and its parameters."""
    clauses, params = list(clauses), list(params)
    if parser_names is not None:
        clauses.append(f"parser_name IN ({', '.join('?' for _ in parser_names) or 'NULL'})")
        params += list(parser_names)
    if batch_id is not None:
        clauses.append("batch_id = ?")
        params.append(batch_id)
    if kind is not None:
        clauses.append("kind = ?")
        params.append(kind)
    return " AND ".join(clauses), params


def _job_filter(
    parser_names: Sequence[str] | None, batch_id: str | None, since_id: int, kind: str | None
) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of jobs above ``since_id`` of these parsers, batch
    and kind (None: any)."""
    return scope_filter(["id > ?"], [since_id], parser_names, kind, batch_id)


class JobReads:
    """Queries over ``cf_jobs`` and ``cf_dead_letter``; mixed into ``JobRepository``."""

    db: Database

    def live_files(self, after_id: int, limit: int) -> list[tuple[int, str, str | None, str]]:
        """(id, path, sha256, source root) of live inventory files after ``after_id``."""
        rows = self.db.query(
            "SELECT f.id, f.path, f.sha256, COALESCE(s.root, '') FROM cf_files f "
            "LEFT JOIN cf_sources s ON s.id = f.source_id "
            "WHERE f.deleted_at IS NULL AND f.id > ? ORDER BY f.id LIMIT ?",
            (after_id, limit),
        )
        return [(int(r[0]), str(r[1]), r[2], str(r[3])) for r in rows]

    def get(self, job_id: int) -> Job | None:
        """One job by id, or None."""
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM cf_jobs WHERE id = ?", (job_id,))
        return Job.from_row(row) if row else None

    def find(
        self,
        status: str | None = None,
        parser_name: str | None = None,
        batch_id: str | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[Job]:
        """Jobs newest first, optionally of one state, parser or batch."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("status", status), ("parser_name", parser_name)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if batch_id is not None:
            clauses.append("batch_id = ?")
            params.append(batch_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM cf_jobs {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [Job.from_row(r) for r in rows]

    def dead_letters(self, include_replayed: bool = False) -> list[DeadLetter]:
        """Dead letters newest first; replayed ones only when asked."""
        where = "" if include_replayed else "WHERE replayed_at IS NULL"
        rows = self.db.query(
            "SELECT job_id, parser_name, input_path, error, retry_count, failed_at, replayed_at "
            f"FROM cf_dead_letter {where} ORDER BY failed_at DESC"
        )
        return [DeadLetter(*r) for r in rows]

    def counts(
        self,
        parser_names: Sequence[str] | None = None,
        batch_id: str | None = None,
        since_id: int = 0,
        kind: str | None = None,
    ) -> QueueCounts:
        """Job counts by state, optionally of some parsers, one batch, one kind, or ids above
        ``since_id``."""
        where, params = _job_filter(parser_names, batch_id, since_id, kind)
        rows = self.db.query(
            f"SELECT status, COUNT(*) FROM cf_jobs WHERE {where} GROUP BY status", params
        )
        return QueueCounts({str(r[0]): int(r[1]) for r in rows})

    def row_totals(
        self,
        batch_id: str | None = None,
        since_id: int = 0,
        parser_names: Sequence[str] | None = None,
        kind: str | None = None,
    ) -> tuple[int, int, int]:
        """Sums of rows emitted, written and quarantined by finished jobs, optionally of some
        parsers (a pool counts only its own parsers' rows, not those of a run beside it), one
        batch or one kind."""
        where, params = _job_filter(parser_names, batch_id, since_id, kind)
        row = self.db.query_one(
            "SELECT COALESCE(SUM(rows_emitted), 0), COALESCE(SUM(rows_written), 0), "
            f"COALESCE(SUM(rows_quarantined), 0) FROM cf_jobs WHERE {where}",
            params,
        )
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    def lease_outputs(self, token: str) -> list[tuple[str, tuple[str, ...]]]:
        """(status, output paths) of every job still stamped with lease ``token``."""
        rows = self.db.query(
            "SELECT status, output_paths FROM cf_jobs WHERE lease_token = ?", (token,)
        )
        return [(str(r[0]), tuple(json.loads(r[1] or "[]"))) for r in rows]

    # -- duplicate guards: one job per (parser version, content) -----------------------------
    def replay_refusal(self, job_id: int) -> str | None:
        """Why replaying this job would process its file twice (None: nothing else holds it)."""
        row = self.db.query_one(
            f"SELECT o.id, o.status FROM cf_jobs j JOIN cf_jobs o ON {_SAME_INPUT} "
            f"WHERE j.id = ? AND {_HOLDS_INPUT} ORDER BY o.id LIMIT 1",
            (job_id,),
        )
        if row is not None:
            other_id, other_status = int(row[0]), str(row[1])
            if is_live(other_status):
                return (
                    f"job {job_id} not replayed: its file is already {other_status} "
                    f"as job {other_id}"
                )
            return (
                f"job {job_id} not replayed: already processed by job {other_id} ({other_status})"
            )
        row = self.db.query_one(f"SELECT {_HISTORY_JOB} FROM cf_jobs j WHERE j.id = ?", (job_id,))
        if row is not None and row[0] is not None:
            return f"job {job_id} not replayed: already processed by job {int(row[0])} (history)"
        return None

    def failed_inputs(self, parser_name: str, parser_version: str) -> set[str]:
        """Hashes (``path:``+path without one) of inputs whose process job for a version failed."""
        rows = self.db.query(
            "SELECT COALESCE(input_hash, 'path:' || input_path) FROM cf_jobs "
            "WHERE parser_name = ? AND parser_version = ? AND kind = 'process' "
            f"AND status IN ({sql_states(ERROR_STATES)})",
            (parser_name, parser_version),
        )
        return {str(r[0]) for r in rows}

    def already_processed(self, job_ids: Sequence[int]) -> dict[int, int]:
        """Of these jobs, those whose content another job already processed: id -> that job."""
        if not job_ids:
            return {}
        marks = ", ".join("?" for _ in job_ids)
        done = (
            "o.id <> j.id AND o.parser_name = j.parser_name AND o.parser_version = "
            f"j.parser_version AND o.status IN ({sql_states(SUCCEEDED_STATES)}) "
            "AND o.kind = j.kind"
        )
        # The hash and path cases apart (CASE is lazy): an OR would scan every completed job of
        # the parser instead of seeking the (parser, version, hash) index, per committed job.
        rows = self.db.query(
            f"SELECT j.id, COALESCE({_HISTORY_JOB}, CASE WHEN j.input_hash IS NOT NULL "
            f"THEN (SELECT MIN(o.id) FROM cf_jobs o WHERE {done} AND o.input_hash = j.input_hash) "
            f"ELSE (SELECT MIN(o.id) FROM cf_jobs o WHERE {done} "
            "AND o.input_path = j.input_path) END) FROM cf_jobs j "
            f"WHERE j.id IN ({marks}) AND j.kind <> 'backfill'",
            tuple(job_ids),
        )
        return {int(r[0]): int(r[1]) for r in rows if r[1] is not None}
