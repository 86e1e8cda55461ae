"""Discover's file listing: one page of live files matching a gitignore-style filter, and the total.

A filter is several gitignore patterns separated by commas or spaces (``\\`` keeps a space or a
comma in a pattern), matched against each file's path relative to its scanned source root, exactly
as tag rules and parser patterns are: a pattern without a slash matches a name at any depth, one
with a slash is anchored at the source root, a trailing ``/`` means a folder (so every file below
it), ``*`` stays inside one folder name while ``**`` crosses folders, ``!`` negates, and the last
matching pattern decides. A filter whose first pattern is a negation starts from every file
(``!*.csv`` lists everything but CSV files).

PostgreSQL matches the patterns in SQL (its ``~`` regex operator). SQLite has no regex: there
chunks of files come back as a few joined strings, Arrow splits them and pathspec's compiled
regexes run through ``pyarrow.compute`` (RE2); only the matching ids and paths are kept, sorted
by path in Arrow, and the page shown is read back by id. No file is tested in a Python loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pathspec
import pyarrow as pa
import pyarrow.compute as pc

from ..store import Store
from ..store.db import in_list
from ..store.file_reads import FileFilter, FileRecord

SCAN_ROWS = 50_000
# A pattern runs up to an unescaped comma or whitespace; "\" keeps the next character.
_TOKEN = re.compile(r"(?:\\.|\\$|[^\s,\\])+")
_RECORD_COLUMNS = (
    "f.id, f.source_id, f.path, f.size, f.mtime_ns, f.sha256, f.kind, f.first_seen, "
    "f.last_seen, f.deleted_at, f.raw_path, f.depth"
)
# A file's path below its source root ("/" roots included); a file without one: its whole path.
_RELATIVE = (
    "CASE WHEN s.root IS NOT NULL AND substr(f.path, 1, length(rtrim(s.root, '/')) + 1) = "
    "rtrim(s.root, '/') || '/' THEN substr(f.path, length(rtrim(s.root, '/')) + 2) "
    "ELSE ltrim(f.path, '/') END"
)


class FilterError(ValueError):
    """A filter pattern that cannot be read; the message names it and says why."""


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
    return _TOKEN.findall(text)


def compile_filter(text: str) -> list[tuple[bool, str]]:
    """(include, RE2 regex) per pattern of the filter; ``FilterError`` for a pattern that cannot be
    read (an unfinished ``\\``, a comment, a lone ``!``, a regex RE2 rejects)."""
    compiled: list[tuple[bool, str]] = []
    for pattern in filter_patterns(text):
        try:
            spec = pathspec.PathSpec.from_lines("gitignore", [pattern])
        except Exception as exc:  # noqa: BLE001 - pathspec raises several types
            raise FilterError(f"cannot read pattern {pattern!r}: {exc}") from exc
        parsed = [(bool(p.include), p.regex.pattern) for p in spec.patterns
                  if p.include is not None and p.regex is not None]  # fmt: skip
        if not parsed:
            raise FilterError(
                f"cannot read pattern {pattern!r}: it names no file "
                "(a leading # makes a comment; write \\# for a name starting with #)"
            )
        for include, regex in parsed:
            try:
                pc.match_substring_regex(pa.array([""], pa.string()), regex)
            except pa.ArrowInvalid as exc:
                raise FilterError(f"cannot read pattern {pattern!r}: {exc}") from exc
            compiled.append((include, regex))
    return compiled


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
    compiled = compile_filter(filter_text)
    if not compiled:
        rows = store.db.query(
            f"SELECT {_RECORD_COLUMNS} FROM cf_files f WHERE f.deleted_at IS NULL "
            "ORDER BY f.path LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return FileListing(*_records(store, rows), store.files.count(FileFilter()), offset)
    if store.db.dialect == "postgresql":
        return _listing_in_sql(store, compiled, limit, offset)
    narrowing = _candidates(filter_patterns(filter_text))
    return _listing_by_chunks(
        store, compiled, narrowing, limit, offset, should_stop or (lambda: False)
    )


def _listing_in_sql(
    store: Store, compiled: list[tuple[bool, str]], limit: int, offset: int
) -> FileListing:
    """PostgreSQL matches the regexes itself (``~``); the last matching pattern decides."""
    start = "FALSE" if compiled[0][0] else "TRUE"
    decide = " ".join(f"WHEN m.rel ~ ? THEN {'TRUE' if include else 'FALSE'}"
                      for include, _ in reversed(compiled))  # fmt: skip
    regexes = [regex for _, regex in reversed(compiled)]
    selected = (
        f"FROM (SELECT {_RECORD_COLUMNS}, {_RELATIVE} AS rel FROM cf_files f "
        "LEFT JOIN cf_sources s ON s.id = f.source_id WHERE f.deleted_at IS NULL) m "
        f"WHERE CASE {decide} ELSE {start} END"
    )
    outer = _RECORD_COLUMNS.replace("f.", "m.")
    rows = store.db.query(
        f"SELECT {outer} {selected} ORDER BY m.path LIMIT ? OFFSET ?", (*regexes, limit, offset)
    )
    total = int(store.db.query_one(f"SELECT COUNT(*) {selected}", regexes)[0])
    return FileListing(*_records(store, rows), total, offset)


def _literal_runs(pattern: str) -> list[str]:
    """The runs of plain characters a path must contain to match ``pattern`` (an include
    pattern): the text between wildcards, classes and slashes, escapes resolved."""
    runs, current, index = [], "", 0
    while index < len(pattern):
        char = pattern[index]
        closing = pattern.find("]", index + 2) if char == "[" else -1
        if char == "\\" and index + 1 < len(pattern):
            current, index = current + pattern[index + 1], index + 2
            continue
        if char in "*?/" or closing != -1:
            runs.append(current)
            current = ""
            index = closing + 1 if closing != -1 else index + 1
            continue
        current, index = current + char, index + 1
    return [run for run in [*runs, current] if run]


def _candidates(patterns: list[str]) -> tuple[str, list[str]]:
    """A SQL condition every file the filter can select meets (and its parameters): one of the
    include patterns' plain runs all appear in the path. Files failing it are never read into
    Arrow. Nothing narrows when the filter opens with "!" or an include pattern has no run."""
    if not patterns or patterns[0].startswith("!"):
        return "", []
    alternatives, params = [], []
    for pattern in patterns:
        if pattern.startswith("!"):
            continue
        runs = _literal_runs(pattern)
        if not runs:
            return "", []
        alternatives.append("(" + " AND ".join("instr(f.path, ?) > 0" for _ in runs) + ")")
        params += runs
    return " AND (" + " OR ".join(alternatives) + ")", params


def _listing_by_chunks(
    store: Store,
    compiled: list[tuple[bool, str]],
    narrowing: tuple[str, list[str]],
    limit: int,
    offset: int,
    should_stop: Callable[[], bool],
) -> FileListing:
    """SQLite has no regex: chunks of files in id order (the table's own order, read straight
    through) come back as strings (ids; relative and full paths joined by NUL, which no path
    contains), Arrow splits them and RE2 matches. The matches are sorted by path in Arrow and the
    requested window is read back by id."""
    start_selected = not compiled[0][0]  # a filter opening with "!" removes from everything
    id_chunks: list[pa.Array] = [pa.array([], pa.int64())]
    path_chunks: list[pa.Array] = [pa.array([], pa.string())]
    last_id = 0
    while not should_stop():
        count, last, id_text, rel_text, path_text = store.db.query_one(
            "SELECT COUNT(*), MAX(id), group_concat(id), group_concat(rel, char(0)), "
            f"group_concat(path, char(0)) FROM (SELECT f.id AS id, f.path AS path, {_RELATIVE} "
            "AS rel FROM cf_files f LEFT JOIN cf_sources s ON s.id = f.source_id "
            f"WHERE f.deleted_at IS NULL AND f.id > ?{narrowing[0]} ORDER BY f.id LIMIT ?)",
            (last_id, *narrowing[1], SCAN_ROWS),
        )
        if not count:
            break
        last_id = int(last)
        ids = pc.cast(_split(id_text, ","), pa.int64())
        relative = _split(rel_text, "\x00")
        selected = pa.repeat(pa.scalar(start_selected), len(ids))
        for include, regex in compiled:
            hits = pc.match_substring_regex(relative, regex)
            selected = pc.if_else(hits, pa.scalar(include), selected)
        id_chunks.append(ids.filter(selected))
        path_chunks.append(_split(path_text, "\x00").filter(selected))
    ids, paths = pa.concat_arrays(id_chunks), pa.concat_arrays(path_chunks)
    order = pc.sort_indices(paths)  # byte order, as SQLite's ORDER BY path
    window = pc.take(ids, order.slice(offset, limit)).to_pylist() if offset < len(ids) else []
    rows: list[Any] = []
    if window:
        condition, param = in_list(store.db, "f.id", window)
        rows = store.db.query(
            f"SELECT {_RECORD_COLUMNS} FROM cf_files f WHERE {condition} ORDER BY f.path", (param,)
        )
    return FileListing(*_records(store, rows), len(ids), offset)


def _split(text: str, separator: str) -> pa.Array:
    """One SQL-joined string back into an Arrow array of its parts."""
    return pc.split_pattern(pa.array([text], pa.string()), separator).flatten()


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
