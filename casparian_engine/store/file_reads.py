"""The read side of the file inventory: listings, counts, stats and resolving user-given paths.

Listings are paged with ``LIMIT``/``OFFSET``; a filter is a tag, "untagged" (no rule or manual
tag), patterns (``PathPatterns``, over the path relative to the source root, as Discover's
filter reads them) and whether soft-deleted files show.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..patterns import RELATIVE_SQL, PathPatterns
from .db import Database, chunked, marks
from .path_match import pattern_condition

FILE_ORDERS = {
    "path": "f.path",
    "-path": "f.path DESC",
    "size": "f.size, f.path",
    "-size": "f.size DESC, f.path",
    "mtime": "f.mtime_ns, f.path",
    "-mtime": "f.mtime_ns DESC, f.path",
    "first_seen": "f.first_seen, f.id",
    "-first_seen": "f.first_seen DESC, f.id DESC",
    "id": "f.id",
}
_NOT_AUTO_TAGGED = (
    "NOT EXISTS (SELECT 1 FROM cf_tags t WHERE t.file_id = f.id AND t.origin <> 'auto')"
)


@dataclass(frozen=True)
class FileRecord:
    """One file of the inventory, with its tags, as listings show it."""

    id: int
    source_id: int | None
    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    kind: str | None
    first_seen: float
    last_seen: float
    deleted_at: float | None
    raw_path: bytes | None
    tags: tuple[str, ...]

    @property
    def os_path(self) -> str:
        """The path to open (the real bytes for names that are not valid UTF-8)."""
        return os.fsdecode(self.raw_path) if self.raw_path is not None else self.path

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values (``--json`` output; raw path bytes left out)."""
        return {
            "id": self.id,
            "path": self.path,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "sha256": self.sha256,
            "kind": self.kind,
            "tags": list(self.tags),
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "deleted_at": self.deleted_at,
        }


@dataclass(frozen=True)
class FileFilter:
    """Which files a listing shows; ``pattern`` is one line of gitignore-style patterns (commas
    between them), read as Discover's filter is (``PathPatterns.from_filter``)."""

    tag: str | None = None
    untagged: bool = False
    pattern: str | None = None
    include_deleted: bool = False


@dataclass(frozen=True)
class FileStats:
    """Inventory totals for the Home card; 'tagged' ignores automatic ``kind:`` tags."""

    total_files: int
    source_count: int
    tagged_files: int
    untagged_files: int
    deleted_files: int


@dataclass(frozen=True)
class UntaggedGroup:
    """Live files without a rule/manual tag that share a folder and an extension."""

    source_root: str | None
    parent: str
    ext: str
    file_count: int


class FileReads:
    """Queries over ``cf_files`` for listings and user input; mixed into ``FileRepository``."""

    db: Database

    # -- listing -----------------------------------------------------------------------------
    def _where(self, file_filter: FileFilter) -> tuple[str, list[Any]]:
        """The ``WHERE`` clause (empty when nothing filters) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if not file_filter.include_deleted:
            clauses.append("f.deleted_at IS NULL")
        if file_filter.tag:
            clauses.append("EXISTS (SELECT 1 FROM cf_tags t WHERE t.file_id = f.id AND t.tag = ?)")
            params.append(file_filter.tag)
        if file_filter.untagged:
            clauses.append(_NOT_AUTO_TAGGED)
        if file_filter.pattern:
            patterns = PathPatterns.from_filter(file_filter.pattern)
            narrowed = " AND ".join(clauses) or "1 = 1"
            condition, pattern_params = pattern_condition(self.db, patterns, narrowed, params)
            clauses.append(condition)
            params.extend(pattern_params)
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params

    def page(
        self, file_filter: FileFilter, limit: int = 100, offset: int = 0, order: str = "path"
    ) -> list[FileRecord]:
        """One page of matching files, with tags, in ``order`` (a key of ``FILE_ORDERS``)."""
        if order not in FILE_ORDERS:
            raise ValueError(f"unknown order {order!r}; use one of {', '.join(FILE_ORDERS)}")
        where, params = self._where(file_filter)
        rows = self.db.query(
            "SELECT f.id, f.source_id, f.path, f.size, f.mtime_ns, f.sha256, f.kind, "
            f"f.first_seen, f.last_seen, f.deleted_at, f.raw_path FROM cf_files f {where} "
            f"ORDER BY {FILE_ORDERS[order]} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        tags = self.tags_of([int(r[0]) for r in rows])
        return [
            FileRecord(
                int(r[0]), r[1], r[2], int(r[3]), int(r[4]), r[5], r[6], float(r[7]),
                float(r[8]), r[9], r[10], tuple(tags.get(int(r[0]), ())),
            )
            for r in rows
        ]  # fmt: skip

    def count(self, file_filter: FileFilter) -> int:
        """How many files match ``file_filter``."""
        where, params = self._where(file_filter)
        return int(self.db.query_one(f"SELECT COUNT(*) FROM cf_files f {where}", params)[0])

    def tags_of(self, file_ids: Sequence[int]) -> dict[int, list[str]]:
        """Each file's tags, sorted, for the files that have any."""
        tags: dict[int, list[str]] = {}
        for chunk in chunked(file_ids):
            rows = self.db.query(
                f"SELECT file_id, tag FROM cf_tags WHERE file_id IN ({marks(len(chunk))}) "
                "ORDER BY tag",
                chunk,
            )
            for file_id, tag in rows:
                tags.setdefault(int(file_id), []).append(tag)
        return tags

    def stats(self) -> FileStats:
        """Totals of live, tagged, untagged and deleted files and of sources."""
        live = self.db.query_one(
            "SELECT COUNT(*), "
            f"COALESCE(SUM(CASE WHEN {_NOT_AUTO_TAGGED} THEN 0 ELSE 1 END), 0) "
            "FROM cf_files f WHERE f.deleted_at IS NULL"
        )
        deleted = self.db.query_one("SELECT COUNT(*) FROM cf_files WHERE deleted_at IS NOT NULL")
        sources = self.db.query_one("SELECT COUNT(*) FROM cf_sources")
        total, tagged = int(live[0]), int(live[1])
        return FileStats(total, int(sources[0]), tagged, total - tagged, int(deleted[0]))

    def untagged_groups(self, limit: int, min_files: int = 2) -> list[UntaggedGroup]:
        """The largest groups of live untagged files sharing a folder and extension (tag hints)."""
        rows = self.db.query(
            "SELECT s.root, f.parent, f.ext, COUNT(*) AS file_count FROM cf_files f "
            "LEFT JOIN cf_sources s ON s.id = f.source_id "
            f"WHERE f.deleted_at IS NULL AND {_NOT_AUTO_TAGGED} "
            "GROUP BY s.root, f.parent, f.ext HAVING COUNT(*) >= ? "
            "ORDER BY file_count DESC, f.parent, f.ext LIMIT ?",
            (min_files, limit),
        )
        return [UntaggedGroup(r[0], r[1], r[2], int(r[3])) for r in rows]

    # -- resolving user input ----------------------------------------------------------------
    def ids_under(self, path: str) -> list[int]:
        """Ids of live files at ``path`` exactly, or anywhere below it when it is a folder."""
        prefix = path.rstrip("/") + "/"
        rows = self.db.query(
            "SELECT id FROM cf_files WHERE deleted_at IS NULL "
            "AND (path = ? OR substr(path, 1, ?) = ?) ORDER BY id",
            (path, len(prefix), prefix),
        )
        return [int(r[0]) for r in rows]

    def existing_ids(self, file_ids: Sequence[int]) -> set[int]:
        """Which of ``file_ids`` exist in the inventory (live or deleted)."""
        found: set[int] = set()
        for chunk in chunked(file_ids):
            rows = self.db.query(
                f"SELECT id FROM cf_files WHERE id IN ({marks(len(chunk))})", chunk
            )
            found.update(int(r[0]) for r in rows)
        return found

    def ids_in_group(self, parent: str, ext: str) -> list[int]:
        """Ids of the live files in one folder with one extension."""
        rows = self.db.query(
            "SELECT id FROM cf_files WHERE parent = ? AND ext = ? AND deleted_at IS NULL",
            (parent, ext),
        )
        return [int(r[0]) for r in rows]

    def tagged_page(self, tags: Sequence[str], after_id: int, limit: int) -> list[Any]:
        """(id, path, relative path, 1 when it has one of ``tags`` else 0, sha256) of the live
        files after ``after_id``, in id order (the relative path worked out in SQL, so the
        rows need no loop in Python)."""
        tagged = (  # 1/0 on SQLite and PostgreSQL alike
            "CASE WHEN EXISTS (SELECT 1 FROM cf_tags t WHERE t.file_id = f.id AND t.tag IN "
            f"({marks(len(tags))})) THEN 1 ELSE 0 END"
            if tags
            else "0"
        )
        return self.db.query(
            f"SELECT f.id, f.path, {RELATIVE_SQL}, {tagged}, f.sha256 FROM cf_files f "
            "LEFT JOIN cf_sources s ON s.id = f.source_id "
            "WHERE f.deleted_at IS NULL AND f.id > ? ORDER BY f.id LIMIT ?",
            (*tags, after_id, limit),
        )

    def live_page(self, after_id: int, limit: int) -> list[tuple[int, str, str | None]]:
        """(id, path, source root) of live files after ``after_id``, for re-applying rules."""
        rows = self.db.query(
            "SELECT f.id, f.path, s.root FROM cf_files f LEFT JOIN cf_sources s "
            "ON s.id = f.source_id WHERE f.deleted_at IS NULL AND f.id > ? ORDER BY f.id LIMIT ?",
            (after_id, limit),
        )
        return [(int(r[0]), r[1], r[2]) for r in rows]
