"""Discover's file listing: one page of live files matching a gitignore-style filter, and the total.

A filter is several patterns separated by commas or spaces (``\\`` keeps a space or a comma in a
pattern), read by ``PathPatterns`` exactly as tag rules, scopes and parser patterns are (see
``casparian_engine.patterns``): matched against each file's path relative to its source root, a
pattern without a slash matches a name at any depth, one with a slash is anchored at the source
root, a trailing ``/`` means a folder (so every file below it), ``*`` stays inside one folder name
while ``**`` crosses folders, ``!`` negates, and the last matching pattern decides. A filter whose
first pattern is a negation starts from every file (``!*.csv`` lists everything but CSV files).

PostgreSQL matches and pages in SQL. On SQLite the store hands back the matching ids and paths
(``store.path_match``); they are sorted by path in Arrow and the page shown is read back by id.
No file is tested in a Python loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow.compute as pc

from ..patterns import PathPatterns, PatternError, filter_tokens
from ..store import Store
from ..store.db import in_list
from ..store.file_reads import FileFilter, FileRecord
from ..store.path_match import FILES_WITH_SOURCES, matching_files

_RECORD_COLUMNS = (
    "f.id, f.source_id, f.path, f.size, f.mtime_ns, f.sha256, f.kind, f.first_seen, "
    "f.last_seen, f.deleted_at, f.raw_path, f.depth"
)

FilterError = PatternError
"""A filter pattern that cannot be read (the message names it and says why)."""


@dataclass(frozen=True)
class FileListing:
    """One page of files in path order, each file's depth below its source root, and the total
    number of files the filter selects."""

    records: list[FileRecord]
    depths: list[int]
    total: int
    offset: int


def filter_patterns(text: str) -> list[str]:
    """The patterns of a filter, in order: ``'logs/, legacy/'`` → ``['logs/', 'legacy/']``."""
    return filter_tokens(text)


def compile_filter(text: str) -> PathPatterns:
    """The filter's patterns; ``FilterError`` for a pattern that cannot be read (an unfinished
    ``\\``, a comment, a lone ``!``)."""
    return PathPatterns.from_filter(text)


def list_files_page(
    store: Store,
    filter_text: str,
    limit: int,
    offset: int,
    should_stop: Callable[[], bool] | None = None,
) -> FileListing:
    """Files ``offset``…``offset + limit`` (in path order) of the live files the filter selects;
    an empty filter selects every live file and is paged in SQL. ``should_stop`` is asked between
    chunks (a newer request replaces this one): when it says yes, the listing is cut short."""
    if offset < 0 or limit < 1:
        raise ValueError(
            f"file listing: offset must be >= 0 and limit >= 1 (got {offset}, {limit})"
        )
    patterns = compile_filter(filter_text)
    if not patterns:
        rows = store.db.query(
            f"SELECT {_RECORD_COLUMNS} FROM cf_files f WHERE f.deleted_at IS NULL "
            "ORDER BY f.path LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return FileListing(*_records(store, rows), store.files.count(FileFilter()), offset)
    if store.db.dialect == "postgresql":
        return _listing_in_sql(store, patterns, limit, offset)
    return _listing_by_ids(store, patterns, limit, offset, should_stop)


def _listing_in_sql(store: Store, patterns: PathPatterns, limit: int, offset: int) -> FileListing:
    """PostgreSQL matches the patterns itself (``~``) and pages in SQL."""
    condition, regexes = patterns.sql_condition()
    selected = f"FROM {FILES_WITH_SOURCES} WHERE f.deleted_at IS NULL AND {condition}"
    rows = store.db.query(
        f"SELECT {_RECORD_COLUMNS} {selected} ORDER BY f.path LIMIT ? OFFSET ?",
        (*regexes, limit, offset),
    )
    total = int(store.db.query_one(f"SELECT COUNT(*) {selected}", regexes)[0])
    return FileListing(*_records(store, rows), total, offset)


def _listing_by_ids(
    store: Store,
    patterns: PathPatterns,
    limit: int,
    offset: int,
    should_stop: Callable[[], bool] | None,
) -> FileListing:
    """SQLite: the matching ids and paths come from the store's chunked Arrow match, are sorted
    by path in Arrow, and the requested window is read back by id."""
    ids, paths = matching_files(store.db, patterns, should_stop=should_stop)
    order = pc.sort_indices(paths)  # byte order, as SQLite's ORDER BY path
    window = pc.take(ids, order.slice(offset, limit)).to_pylist() if offset < len(ids) else []
    rows: list[Any] = []
    if window:
        condition, param = in_list(store.db, "f.id", window)
        rows = store.db.query(
            f"SELECT {_RECORD_COLUMNS} FROM cf_files f WHERE {condition} ORDER BY f.path", (param,)
        )
    return FileListing(*_records(store, rows), len(ids), offset)


def _records(store: Store, rows: list[Any]) -> tuple[list[FileRecord], list[int]]:
    """``FileRecord``s (with tags) and depths from rows of ``_RECORD_COLUMNS``."""
    tags = store.files.tags_of([int(r[0]) for r in rows])
    records = [
        FileRecord(
            int(r[0]), r[1], r[2], int(r[3]), int(r[4]), r[5], r[6], float(r[7]),
            float(r[8]), r[9], r[10], tuple(tags.get(int(r[0]), ())),
        )
        for r in rows
    ]  # fmt: skip
    return records, [int(r[11]) for r in rows]
