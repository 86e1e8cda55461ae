"""Registered parsers at a glance: matched file count, last run status, and their matched files.

Selects the same files as ``runner.matching`` (a file matches by one of the parser's tags, or by
its gitignore patterns over the path relative to its scan root; the last matching pattern wins),
but column-wise: the tag test is SQL, and pathspec's compiled regexes run through
``pyarrow.compute`` over pages of paths, so a 200,000-file inventory is never walked file by file
in Python (a worker thread doing that holds the GIL and freezes the TUI).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import pathspec
import pyarrow as pa
import pyarrow.compute as pc

from .runner.matching import current_parsers
from .store import Store
from .store.parsers import ParserRecord

PAGE_ROWS = 50_000


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
    patterns = [p for p in pathspec.PathSpec.from_lines("gitignore", parser.patterns).patterns
                if p.include is not None and p.regex is not None]  # fmt: skip
    if not parser.tags and not patterns:
        return pa.chunked_array([], pa.string())
    chunks = []
    after_id = 0
    while page := _live_page(store, parser.tags, after_id):
        after_id = int(page[-1][0])
        _ids, path_values, root_values, tag_values = zip(*page, strict=True)  # columns
        paths = pa.array(path_values, pa.string())
        roots = pa.array(root_values, pa.string())
        by_tag = pc.not_equal(pa.array(tag_values, pa.int64()), 0)
        by_pattern = _pattern_mask(patterns, relative_paths(paths, roots))
        chunks.append(paths.filter(pc.or_(by_tag, by_pattern)))
    return pa.chunked_array(chunks, pa.string())


def _live_page(store: Store, tags: tuple[str, ...], after_id: int) -> list[Any]:
    """(id, path, scan root, has one of ``tags``) of the next live files after ``after_id``."""
    marks = ", ".join("?" for _ in tags)
    tagged = (  # 1/0 on SQLite and PostgreSQL alike
        f"CASE WHEN EXISTS (SELECT 1 FROM cf_tags t WHERE t.file_id = f.id AND t.tag IN ({marks}))"
        " THEN 1 ELSE 0 END"
        if tags
        else "0"
    )
    return store.db.query(
        f"SELECT f.id, f.path, COALESCE(s.root, ''), {tagged} FROM cf_files f "
        "LEFT JOIN cf_sources s ON s.id = f.source_id "
        "WHERE f.deleted_at IS NULL AND f.id > ? ORDER BY f.id LIMIT ?",
        (*tags, after_id, PAGE_ROWS),
    )


def relative_paths(paths: pa.Array, roots: pa.Array) -> pa.Array:
    """Each path relative to its scan root, normalised as pathspec does (no leading '/')."""
    relative = paths
    for root in pc.unique(roots).to_pylist():
        if not root:
            continue
        prefix = root.rstrip(os.sep) + os.sep
        of_root = pc.equal(roots, root)
        under = pc.and_(of_root, pc.starts_with(paths, pattern=prefix))
        cut = pc.utf8_slice_codeunits(paths, len(prefix))
        relative = pc.if_else(under, cut, relative)
        outside = pc.and_(of_root, pc.invert(under))
        if pc.any(outside).as_py():  # rare: a file not under its own root (os.path.relpath)
            positions = pc.indices_nonzero(outside).to_pylist()
            fixed = [os.path.relpath(paths[i].as_py(), root) for i in positions]
            relative = pc.replace_with_mask(relative, outside, pa.array(fixed, pa.string()))
    return pc.replace_substring_regex(relative, pattern=r"^(?:/|\./)", replacement="")


def _pattern_mask(patterns: list[Any], relative: pa.Array) -> pa.Array:
    """Whether each path is selected: the last pattern that matches decides (gitignore)."""
    selected = pa.array([False] * len(relative), pa.bool_())
    for pattern in patterns:
        hits = _regex_hits(pattern.regex, relative)
        selected = pc.if_else(hits, pa.scalar(bool(pattern.include)), selected)
    return selected


def _regex_hits(regex: re.Pattern[str], relative: pa.Array) -> pa.Array:
    """``regex.search`` over every path, in RE2 (Arrow); Python's re only for a construct RE2
    lacks (pathspec emits none today, so this never runs on its patterns)."""
    try:
        return pc.match_substring_regex(relative, regex.pattern)
    except pa.ArrowInvalid:
        return pa.array([regex.search(path) is not None for path in relative.to_pylist()])


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
