"""What needs a person: files matched but never processed, failed jobs, quarantined rows and
parsers paused by their circuit breaker (the TUI's Home shows these, each with where to fix it).

Every figure is an aggregate: counts in SQL, and the matched-file test column-wise (the tag test
and relative paths in SQL, patterns and the processed test through ``pyarrow.compute``) over pages
of the inventory, so a 200,000-file inventory is never walked file by file in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .job_states import ERROR_STATES
from .patterns import RELATIVE_SQL, PathPatterns
from .runner.matching import current_parsers
from .store import Store
from .store.parsers import ParserRecord
from .store.quarantine import QuarantineFilter

PAGE_ROWS = 50_000


@dataclass(frozen=True)
class Attention:
    """The figures of what waits for a person."""

    unprocessed_by_parser: dict[str, int] = field(default_factory=dict)
    """Per parser (its current version): live files it matches whose content no version of it
    has processed (queued ones included: a run processes them), leaving out those whose job
    failed (counted in ``failed_jobs``)."""
    failed_jobs: int = 0
    """Jobs that ended failed or in the dead letter (retry or replay them in Jobs)."""
    quarantined_rows: int = 0
    """Quarantined rows not replayed yet."""
    paused_parsers: tuple[str, ...] = ()
    """Parsers whose circuit breaker holds their jobs."""

    @property
    def unprocessed_files(self) -> int:
        return sum(self.unprocessed_by_parser.values())

    @property
    def nothing(self) -> bool:
        """Nothing waits for a person."""
        return not (
            self.unprocessed_files
            or self.failed_jobs
            or self.quarantined_rows
            or self.paused_parsers
        )


def needs_attention(store: Store) -> Attention:
    """Read every figure of ``Attention`` from the store."""
    unprocessed = {}
    for parser in current_parsers(store):
        count = unprocessed_file_count(store, parser)
        if count:
            unprocessed[parser.name] = count
    counts = store.jobs.counts()
    return Attention(
        unprocessed_by_parser=unprocessed,
        failed_jobs=sum(counts[state] for state in ERROR_STATES),
        quarantined_rows=store.quarantine.count(QuarantineFilter()),
        paused_parsers=tuple(h.parser_name for h in store.health.paused_parsers()),
    )


def unprocessed_file_count(store: Store, parser: ParserRecord) -> int:
    """Live files the parser selects (by tag or pattern) whose content it never processed and
    whose job for its current version did not fail."""
    patterns = PathPatterns(parser.patterns)
    if not parser.tags and not patterns:
        return 0
    processed = [
        row[0]
        for row in store.db.query(
            "SELECT DISTINCT input_hash FROM cf_processing_history WHERE parser_name = ?",
            (parser.name,),
        )
    ]
    failed = store.jobs.failed_inputs(parser.name, parser.version)  # Jobs lists those
    accounted = pa.array([*processed, *failed], pa.string())
    count = 0
    after_id = 0
    while page := _live_page(store, parser.tags, after_id):
        after_id = int(page[-1][0])
        _ids, relative_values, tag_values, hash_values = zip(*page, strict=True)  # columns
        selected = pc.not_equal(pa.array(tag_values, pa.int64()), 0)
        if patterns:
            selected = pc.or_(selected, patterns.mask(pa.array(relative_values, pa.string())))
        hashes = pa.array(hash_values, pa.string())
        done = pc.fill_null(pc.is_in(hashes, value_set=accounted), False)
        count += pc.sum(pc.and_(selected, pc.invert(done))).as_py() or 0
    return count


def _live_page(store: Store, tags: tuple[str, ...], after_id: int) -> list[Any]:
    """(id, relative path, has one of ``tags``, content hash) of the next live files."""
    marks = ", ".join("?" for _ in tags)
    tagged = (  # 1/0 on SQLite and PostgreSQL alike
        f"CASE WHEN EXISTS (SELECT 1 FROM cf_tags t WHERE t.file_id = f.id AND t.tag IN ({marks}))"
        " THEN 1 ELSE 0 END"
        if tags
        else "0"
    )
    return store.db.query(
        f"SELECT f.id, {RELATIVE_SQL}, {tagged}, f.sha256 FROM cf_files f "
        "LEFT JOIN cf_sources s ON s.id = f.source_id "
        "WHERE f.deleted_at IS NULL AND f.id > ? ORDER BY f.id LIMIT ?",
        (*tags, after_id, PAGE_ROWS),
    )
