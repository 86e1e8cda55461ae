"""Registered parsers at a glance: matched file count, last run status, and their matched files.

Matching reuses ``runner.matching`` (tags or gitignore patterns over the live inventory), so the
Process view counts exactly the files ``process`` would queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from .runner.matching import current_parsers, matching_jobs
from .store import Store


@dataclass(frozen=True)
class ParserOverview:
    """One registered parser (its current version) with what it matches and how it last ran."""

    name: str
    version: str
    matched_file_count: int
    last_run_status: str  # the newest job's status, or "never run"
    job_counts: dict[str, int]


@dataclass(frozen=True)
class MatchedFilesPage:
    """A window of the files one parser matches, with the total."""

    parser_name: str
    paths: list[str]
    offset: int
    total: int


def matched_file_count(store: Store, parser_name: str) -> int:
    """How many live files the parser's current version selects."""
    (parser,) = current_parsers(store, parser_name)
    return sum(1 for _ in matching_jobs(store, parser))


def matched_files(
    store: Store, parser_name: str, offset: int = 0, limit: int = 100
) -> MatchedFilesPage:
    """Paths ``offset``…``offset + limit`` of the files the parser matches (in file id order)."""
    if offset < 0 or limit < 1:
        raise ValueError(
            f"matched files: offset must be >= 0 and limit >= 1 (got {offset}, {limit})"
        )
    (parser,) = current_parsers(store, parser_name)
    paths: list[str] = []
    total = 0
    for job in matching_jobs(store, parser):
        if offset <= total < offset + limit:
            paths.append(job.input_path)
        total += 1
    return MatchedFilesPage(parser.name, paths, offset, total)


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
                matched_file_count=sum(1 for _ in matching_jobs(store, parser)),
                last_run_status=newest[0].status if newest else "never run",
                job_counts=dict(counts.by_status),
            )
        )
    return overviews
