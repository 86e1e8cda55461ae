"""``PathPatterns`` pushed down to the store: which files of ``cf_files`` the patterns select.

PostgreSQL matches in SQL (``~``, one ``CASE`` where the last matching pattern decides). SQLite
has no regex operator: chunks of files come back as a few joined strings (relative and full
paths joined by NUL, which no path holds), Arrow splits them and RE2 matches; a cheap ``instr``
test on the patterns' plain text keeps most non-matching files from being read at all. No file
is tested in a Python loop on either store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..patterns import RELATIVE_SQL, PathPatterns
from .db import Database, in_list

SCAN_ROWS = 50_000
FILES_WITH_SOURCES = "cf_files f LEFT JOIN cf_sources s ON s.id = f.source_id"


def matching_files(
    db: Database,
    patterns: PathPatterns,
    where: str = "f.deleted_at IS NULL",
    params: Sequence[Any] = (),
    should_stop: Callable[[], bool] | None = None,
) -> tuple[pa.Array, pa.Array]:
    """(ids, paths) of the files meeting ``where`` (over ``cf_files f`` and ``cf_sources s``)
    that the patterns select, in id order. ``should_stop`` is asked between SQLite chunks:
    when it says yes, what was found so far comes back."""
    if db.dialect == "postgresql":
        condition, regexes = patterns.sql_condition()
        rows = db.query(
            f"SELECT f.id, f.path FROM {FILES_WITH_SOURCES} WHERE ({where}) AND {condition} "
            "ORDER BY f.id",
            (*params, *regexes),
        )
        ids, paths = (list(column) for column in zip(*rows, strict=True)) if rows else ([], [])
        return pa.array(ids, pa.int64()), pa.array(paths, pa.string())
    return _matching_by_chunks(db, patterns, where, params, should_stop or (lambda: False))


def pattern_condition(
    db: Database,
    patterns: PathPatterns,
    where: str = "f.deleted_at IS NULL",
    params: Sequence[Any] = (),
) -> tuple[str, list[Any]]:
    """A condition over ``cf_files f`` selecting the files the patterns select (among those
    meeting ``where``), and its parameters: a subquery matching the regexes on PostgreSQL,
    the matching ids on SQLite."""
    if db.dialect == "postgresql":
        condition, regexes = patterns.sql_condition()
        subquery = f"SELECT f.id FROM {FILES_WITH_SOURCES} WHERE ({where}) AND {condition}"
        return f"f.id IN ({subquery})", [*params, *regexes]
    ids, _paths = matching_files(db, patterns, where, params)
    condition, param = in_list(db, "f.id", ids.to_pylist())
    return condition, [param]


def _matching_by_chunks(
    db: Database,
    patterns: PathPatterns,
    where: str,
    params: Sequence[Any],
    should_stop: Callable[[], bool],
) -> tuple[pa.Array, pa.Array]:
    narrow, narrow_params = patterns.narrowing("f.path", db.dialect)
    narrowing = f" AND {narrow}" if narrow else ""
    id_chunks: list[pa.Array] = [pa.array([], pa.int64())]
    path_chunks: list[pa.Array] = [pa.array([], pa.string())]
    last_id = 0
    while not should_stop():
        count, last, id_text, rel_text, path_text = db.query_one(
            "SELECT COUNT(*), MAX(id), group_concat(id), group_concat(rel, char(0)), "
            f"group_concat(path, char(0)) FROM (SELECT f.id AS id, f.path AS path, "
            f"{RELATIVE_SQL} AS rel FROM {FILES_WITH_SOURCES} WHERE ({where}) AND f.id > ?"
            f"{narrowing} ORDER BY f.id LIMIT ?)",
            (*params, last_id, *narrow_params, SCAN_ROWS),
        )
        if not count:
            break
        last_id = int(last)
        ids = pc.cast(_split(id_text, ","), pa.int64())
        selected = patterns.mask(_split(rel_text, "\x00"))
        id_chunks.append(ids.filter(selected))
        path_chunks.append(_split(path_text, "\x00").filter(selected))
    return pa.concat_arrays(id_chunks), pa.concat_arrays(path_chunks)


def _split(text: str, separator: str) -> pa.Array:
    """One SQL-joined string back into an Arrow array of its parts."""
    return pc.split_pattern(pa.array([text], pa.string()), separator).flatten()
