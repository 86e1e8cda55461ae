"""Processing history: which content each parser version has already processed (spec FS-6).

Keyed by ``(input_hash, parser_name, parser_version)`` so a renamed or copied file with the same
bytes is never reprocessed by the same parser version, and backfill can tell which files an older
version produced.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from .db import Database


@dataclass(frozen=True)
class HistoryEntry:
    """One processed input: content hash, the parser version that processed it and its job."""

    input_hash: str
    parser_name: str
    parser_version: str
    processed_at: float
    job_id: int | None


class HistoryRepository:
    """Which content each parser version already processed (``cf_processing_history``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self, input_hash: str, parser_name: str, parser_version: str, job_id: int | None
    ) -> bool:
        """Note that this content was processed; False if it already was (the first job wins)."""
        row = self.db.query_one(
            "INSERT INTO cf_processing_history "
            "(input_hash, parser_name, parser_version, processed_at, job_id) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (input_hash, parser_name, parser_version) DO NOTHING RETURNING job_id",
            (input_hash, parser_name, parser_version, time.time(), job_id),
        )
        return row is not None

    def record_many(self, entries: Sequence[tuple[str, str, str, int | None]]) -> None:
        """Note several (input hash, parser, version, job) as processed in one batched statement;
        content already recorded keeps its first job."""
        if not entries:
            return
        now = time.time()
        self.db.executemany(
            "INSERT INTO cf_processing_history "
            "(input_hash, parser_name, parser_version, processed_at, job_id) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (input_hash, parser_name, parser_version) DO NOTHING",
            [(h, name, version, now, job_id) for h, name, version, job_id in entries],
        )

    def get(self, input_hash: str, parser_name: str, parser_version: str) -> HistoryEntry | None:
        """The entry for this content and parser version, if it was processed."""
        row = self.db.query_one(
            "SELECT input_hash, parser_name, parser_version, processed_at, job_id "
            "FROM cf_processing_history "
            "WHERE input_hash = ? AND parser_name = ? AND parser_version = ?",
            (input_hash, parser_name, parser_version),
        )
        return HistoryEntry(*row) if row else None

    def versions_of(self, parser_name: str) -> dict[str, int]:
        """How many distinct inputs each version of a parser has processed."""
        rows = self.db.query(
            "SELECT parser_version, COUNT(*) FROM cf_processing_history "
            "WHERE parser_name = ? GROUP BY parser_version",
            (parser_name,),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def forget(self, parser_name: str, parser_version: str | None = None) -> int:
        """Drop history of a parser (or one version) so its inputs may be processed again."""
        if parser_version is None:
            cursor = self.db.execute(
                "DELETE FROM cf_processing_history WHERE parser_name = ?", (parser_name,)
            )
        else:
            cursor = self.db.execute(
                "DELETE FROM cf_processing_history WHERE parser_name = ? AND parser_version = ?",
                (parser_name, parser_version),
            )
        return int(cursor.rowcount)

    def versions_by_hash(self, parser_name: str) -> dict[str, set[str]]:
        """For each input hash, the versions of this parser that processed it."""
        rows = self.db.query(
            "SELECT input_hash, parser_version FROM cf_processing_history WHERE parser_name = ?",
            (parser_name,),
        )
        found: dict[str, set[str]] = {}
        for input_hash, version in rows:
            found.setdefault(str(input_hash), set()).add(str(version))
        return found

    def forget_jobs(self, job_ids: list[int]) -> int:
        """Drop the entries these jobs made (their outputs were discarded)."""
        removed = 0
        for start in range(0, len(job_ids), 500):
            chunk = job_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            cursor = self.db.execute(
                f"DELETE FROM cf_processing_history WHERE job_id IN ({marks})", chunk
            )
            removed += int(cursor.rowcount)
        return removed
