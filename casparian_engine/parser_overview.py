"""Registered parsers at a glance: matched file count, last run status, and their matched files.

Selects the same files as ``runner.matching`` (a file matches by one of the parser's tags, or by
its ``PathPatterns`` over the path relative to its scan root; the last matching pattern wins),
but column-wise: the tag test and the relative path are SQL, and the patterns run through
``pyarrow.compute`` over pages of paths, so a 200,000-file inventory is never walked file by file
in Python (a worker thread doing that holds the GIL and freezes the TUI).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .runner.matching import current_parsers, selected_files
from .store import Store
from .store.parsers import ParserRecord


@dataclass(frozen=True)
class ParserOverview:
    """One registered parser (its current version) with what it matches and how it last ran."""

    name: str
    version: str
    matched_file_count: int
    last_run_status: str  # the newest job's status, or "never run"
    job_counts: dict[str, int]
    paused: str | None = None  # the circuit breaker's pause note, when the parser is paused


@dataclass(frozen=True)
class MatchedFilesPage:
    """A window of the files one parser matches, with the total."""

    parser_name: str
    paths: list[str]
    offset: int
    total: int


def matched_paths(store: Store, parser: ParserRecord) -> pa.ChunkedArray:
    """The live paths the parser selects, in file id order (one Arrow chunk per page read)."""
    chunks = [batch.column("path") for batch in selected_files(store, parser)]
    return pa.chunked_array(chunks, pa.string())


def matched_file_count(store: Store, parser_name: str) -> int:
    """How many live files the parser's current version selects."""
    (parser,) = current_parsers(store, parser_name)
    return len(matched_paths(store, parser))


def matched_files(
    store: Store, parser_name: str, offset: int = 0, limit: int = 100
) -> MatchedFilesPage:
    """Paths ``offset``…``offset + limit`` of the files the parser matches, in path order."""
    if offset < 0 or limit < 1:
        raise ValueError(
            f"matched files: offset must be >= 0 and limit >= 1 (got {offset}, {limit})"
        )
    (parser,) = current_parsers(store, parser_name)
    paths = matched_paths(store, parser)
    paths = pc.take(paths, pc.array_sort_indices(paths))
    window = paths.slice(offset, limit).to_pylist() if offset < len(paths) else []
    return MatchedFilesPage(parser.name, window, offset, len(paths))


def parser_overviews(store: Store) -> list[ParserOverview]:
    """Every registered parser's current version, by name."""
    overviews = []
    for parser in current_parsers(store):
        newest = store.jobs.find(parser_name=parser.name, limit=1)
        counts = store.jobs.counts([parser.name])
        overviews.append(
            ParserOverview(
                name=parser.name,
                version=parser.version,
                matched_file_count=len(matched_paths(store, parser)),
                last_run_status=newest[0].status if newest else "never run",
                job_counts=dict(counts.by_status),
                paused=_pause_note(store, parser.name),
            )
        )
    return overviews


def _pause_note(store: Store, parser_name: str) -> str | None:
    health = store.health.get(parser_name)
    return health.pause_note if health is not None else None
