"""What needs a person: files matched but never processed, failed jobs, quarantined rows and
parsers paused by their circuit breaker (the TUI's Home shows these, each with where to fix it).

Every figure is an aggregate: counts in SQL, and the matched-file test column-wise (the tag test
and relative paths in SQL, patterns and the processed test through ``pyarrow.compute``) over pages
of the inventory, so a 200,000-file inventory is never walked file by file in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from .job_states import ERROR_STATES
from .patterns import PathPatterns
from .runner.matching import current_parsers, selected_files
from .store import Store
from .store.parsers import ParserRecord
from .store.quarantine import QuarantineFilter


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
    for batch in selected_files(store, parser):
        done = pc.fill_null(pc.is_in(batch.column("sha256"), value_set=accounted), False)
        count += pc.sum(pc.invert(done)).as_py() or 0
    return count
