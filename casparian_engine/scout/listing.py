"""Discover's file listing: one page of live files a filter selects, and the total.

A filter is terms separated by commas (spaces inside a term are part of it, so ``sub (2)/``
names that folder; ``\\,`` keeps a comma). ``tag:NAME`` keeps files tagged NAME and ``kind:KIND``
files of that content kind (its automatic ``kind:`` tag); every such term must hold. The other
terms are gitignore-style patterns read by ``PathPatterns`` exactly as tag rules, scopes and
parser patterns are (see ``casparian_engine.patterns``): matched against each file's path
relative to its source root, a pattern without a slash matches a name at any depth, one with a
slash is anchored at the source root, a trailing ``/`` means a folder (so every file below it),
``*`` stays inside one folder name while ``**`` crosses folders, ``!`` negates, and the last
matching pattern decides. Patterns whose first is a negation start from every file (``!*.csv``
lists everything but CSV files).

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


TAG_TERM = "tag:"
KIND_TERM = "kind:"
MAX_TAG_TERMS = 20
"""Most tag: and kind: terms one filter may hold (a bound on input)."""
_HAS_TAG = "EXISTS (SELECT 1 FROM cf_tags t WHERE t.file_id = f.id AND t.tag = ?)"


@dataclass(frozen=True)
class ListingFilter:
    """A Discover filter read: its path patterns and the tags every file listed must have."""

    patterns: PathPatterns
    tags: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.patterns and not self.tags

    def where(self) -> tuple[str, list[Any]]:
        """The live files with every tag, as a condition over ``cf_files f``."""
        return " AND ".join(["f.deleted_at IS NULL"] + [_HAS_TAG] * len(self.tags)), [*self.tags]


def compile_filter(text: str) -> ListingFilter:
    """Read a filter; ``FilterError`` for a term that cannot be read (an unfinished ``\\``, a
    comment, a lone ``!``, ``tag:`` naming no tag)."""
    tags: list[str] = []
    pattern_terms: list[str] = []
    for term in filter_tokens(text):
        prefix = next((p for p in (TAG_TERM, KIND_TERM) if term.startswith(p)), "")
        if not prefix:
            pattern_terms.append(term)
            continue
        name = term[len(prefix) :].strip()
        if not name:
            raise FilterError(
                f"cannot read {term!r}: it names no {prefix[:-1]} (e.g. {prefix}"
                f"{'invoices' if prefix == TAG_TERM else 'csv'})"
            )
        tags.append(name if prefix == TAG_TERM else KIND_TERM + name)
    if len(tags) > MAX_TAG_TERMS:
        raise FilterError(f"a filter holds at most {MAX_TAG_TERMS} tag: and kind: terms")
    return ListingFilter(PathPatterns.from_filter(",".join(pattern_terms)), tuple(tags))


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
    listing_filter = compile_filter(filter_text)
    if listing_filter.empty:
        rows = store.db.query(
            f"SELECT {_RECORD_COLUMNS} FROM cf_files f WHERE f.deleted_at IS NULL "
            "ORDER BY f.path LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return FileListing(*_records(store, rows), store.files.count(FileFilter()), offset)
    if store.db.dialect == "postgresql" or not listing_filter.patterns:
        return _listing_in_sql(store, listing_filter, limit, offset)
    return _listing_by_ids(store, listing_filter, limit, offset, should_stop)


def _listing_in_sql(
    store: Store, listing_filter: ListingFilter, limit: int, offset: int
) -> FileListing:
    """PostgreSQL matches the patterns itself (``~``) and pages in SQL; so does either store
    for a filter of tags only."""
    where, params = listing_filter.where()
    if listing_filter.patterns:
        condition, regexes = listing_filter.patterns.sql_condition()
        where, params = f"{where} AND {condition}", [*params, *regexes]
    selected = f"FROM {FILES_WITH_SOURCES} WHERE {where}"
    rows = store.db.query(
        f"SELECT {_RECORD_COLUMNS} {selected} ORDER BY f.path LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    total = int(store.db.query_one(f"SELECT COUNT(*) {selected}", params)[0])
    return FileListing(*_records(store, rows), total, offset)


def _listing_by_ids(
    store: Store,
    listing_filter: ListingFilter,
    limit: int,
    offset: int,
    should_stop: Callable[[], bool] | None,
) -> FileListing:
    """SQLite: the matching ids and paths come from the store's chunked Arrow match, are sorted
    by path in Arrow, and the requested window is read back by id."""
    where, params = listing_filter.where()
    ids, paths = matching_files(
        store.db, listing_filter.patterns, where, params, should_stop=should_stop
    )
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
