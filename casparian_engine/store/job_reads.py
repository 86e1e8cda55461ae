"""The read side of the job queue: jobs, dead letters, counts and row totals, lease outputs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .db import Database
from .job_models import _COLUMNS, DeadLetter, Job, QueueCounts


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
    ) -> QueueCounts:
        """Job counts by state, optionally of some parsers, one batch, or ids above ``since_id``."""
        clauses: list[str] = ["id > ?"]
        params: list[Any] = [since_id]
        if parser_names is not None:
            clauses.append(f"parser_name IN ({', '.join('?' for _ in parser_names) or 'NULL'})")
            params += list(parser_names)
        if batch_id is not None:
            clauses.append("batch_id = ?")
            params.append(batch_id)
        rows = self.db.query(
            f"SELECT status, COUNT(*) FROM cf_jobs WHERE {' AND '.join(clauses)} GROUP BY status",
            params,
        )
        return QueueCounts({str(r[0]): int(r[1]) for r in rows})

    def row_totals(self, batch_id: str | None = None, since_id: int = 0) -> tuple[int, int, int]:
        """Sums of rows emitted, written and quarantined by finished jobs."""
        clause, params = (
            ("AND batch_id = ?", [since_id, batch_id]) if batch_id else ("", [since_id])
        )
        row = self.db.query_one(
            "SELECT COALESCE(SUM(rows_emitted), 0), COALESCE(SUM(rows_written), 0), "
            f"COALESCE(SUM(rows_quarantined), 0) FROM cf_jobs WHERE id > ? {clause}",
            params,
        )
        return int(row[0]), int(row[1]), int(row[2])

    def lease_outputs(self, token: str) -> list[tuple[str, tuple[str, ...]]]:
        """(status, output paths) of every job still stamped with lease ``token``."""
        rows = self.db.query(
            "SELECT status, output_paths FROM cf_jobs WHERE lease_token = ?", (token,)
        )
        return [(str(r[0]), tuple(json.loads(r[1] or "[]"))) for r in rows]
