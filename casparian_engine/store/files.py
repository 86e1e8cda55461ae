"""The file inventory: scanned sources and the files found under them (cf_sources, cf_files).

Lookups take batches (one bound list per query: ``json_each`` on SQLite, ``= ANY`` on PostgreSQL,
or ``IN`` lists of at most ``MAX_PARAMS``) so a scan never holds the whole table in memory and never
pays one round-trip per file. Listing is paged with ``LIMIT``/``OFFSET``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .db import Database

MAX_PARAMS = 500
_INT64_MAX = 2**63 - 1
INSERT_FILE_SQL = (
    "INSERT INTO cf_files (source_id, path, raw_path, parent, name, ext, depth, size, mtime_ns, "
    "device, inode, sha256, kind, first_seen, last_seen) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING"
)
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


def chunked(items: Sequence[Any], size: int = MAX_PARAMS) -> Iterator[Sequence[Any]]:
    """Slices of at most ``size`` items (for ``IN (...)`` lists)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(count: int) -> str:
    return ", ".join("?" * count)


def in_list(db: Database, column: str, values: Sequence[Any]) -> tuple[str, Any]:
    """A ``column IN <values>`` condition with ONE bound parameter, and that parameter."""
    if db.dialect == "sqlite":
        return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(list(values))
    return f"{column} = ANY(?)", list(values)


# A stored file as a scan compares it: (id, path, raw_path, size, mtime_ns, device, inode,
# deleted_at, source_id); ``[3:7]`` is the change marker (size, mtime_ns, device, inode).
KnownRow = tuple[int, str, bytes | None, int, int, int, int, float | None, int | None]


@dataclass(frozen=True, slots=True)
class KnownFile:
    """What a scan compares against: a stored file's identity and change markers."""

    id: int
    path: str
    raw_path: bytes | None
    size: int
    mtime_ns: int
    device: int
    inode: int
    deleted_at: float | None

    @property
    def os_path(self) -> str:
        return os.fsdecode(self.raw_path) if self.raw_path is not None else self.path


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
    """Which files a listing shows; ``pattern`` is a shell glob over the whole path."""

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


def glob_to_like(pattern: str) -> str:
    """A shell glob (``*``, ``?``) as a LIKE pattern with ``\\`` escapes."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


class FileRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- sources -----------------------------------------------------------------------------
    def upsert_source(self, root: str, now: float) -> int:
        row = self.db.query_one(
            "INSERT INTO cf_sources (root, first_scanned_at, last_scanned_at) VALUES (?, ?, ?) "
            "ON CONFLICT (root) DO UPDATE SET last_scanned_at = excluded.last_scanned_at "
            "RETURNING id",
            (root, now, now),
        )
        return int(row[0])

    def refresh_source_count(self, source_id: int) -> int:
        row = self.db.query_one(
            "SELECT COUNT(*) FROM cf_files WHERE source_id = ? AND deleted_at IS NULL",
            (source_id,),
        )
        self.db.execute("UPDATE cf_sources SET file_count = ? WHERE id = ?", (row[0], source_id))
        return int(row[0])

    def source_roots(self) -> dict[int, str]:
        return {int(r[0]): r[1] for r in self.db.query("SELECT id, root FROM cf_sources")}

    # -- scan comparisons --------------------------------------------------------------------
    _KNOWN_COLUMNS = "id, path, raw_path, size, mtime_ns, device, inode, deleted_at, source_id"

    def known_in_folders(self, parents: Sequence[str]) -> list[KnownRow]:
        """Every stored file (live or deleted) directly in one of ``parents``: one query."""
        if not parents:
            return []
        condition, param = in_list(self.db, "parent", parents)
        return self.db.query(
            f"SELECT {self._KNOWN_COLUMNS} FROM cf_files WHERE {condition}", (param,)
        )

    def known_by_paths(self, paths: Sequence[str]) -> list[KnownRow]:
        """Stored files at exactly these paths (chunked ``IN`` lists on the unique path index)."""
        found: list[KnownRow] = []
        for chunk in chunked(paths):
            found.extend(
                self.db.query(
                    f"SELECT {self._KNOWN_COLUMNS} FROM cf_files "
                    f"WHERE path IN ({marks(len(chunk))})",
                    chunk,
                )
            )
        return found

    def known_by_identity(
        self, device: int, inodes: Sequence[int], max_id: int | None = None
    ) -> list[KnownFile]:
        """Stored files on ``device`` with one of ``inodes`` and an id up to ``max_id``."""
        condition, param = in_list(self.db, "inode", sorted(set(inodes)))
        rows = self.db.query(
            "SELECT id, path, raw_path, size, mtime_ns, device, inode, deleted_at FROM cf_files "
            f"WHERE device = ? AND {condition} AND id <= ?",
            (device, param, _INT64_MAX if max_id is None else max_id),
        )
        return [KnownFile(*r) for r in rows]

    def last_id(self) -> int:
        """The highest file id so far (files inserted after it are newer)."""
        highest = self.db.query_one("SELECT MAX(id) FROM cf_files")[0]  # bare MAX: O(log N)
        return int(highest or 0)

    def inserted_since(self, after_id: int, source_id: int, first_seen: float) -> dict[str, int]:
        """Path -> id of the files one scan inserted after ``after_id`` (``+``: by id range)."""
        rows = self.db.query(
            "SELECT path, id FROM cf_files WHERE id > ? AND +source_id = ? AND +first_seen = ?",
            (after_id, source_id, first_seen),
        )
        return {r[0]: int(r[1]) for r in rows}

    # -- scan writes -------------------------------------------------------------------------
    def insert(self, rows: Sequence[Sequence[Any]]) -> None:
        """Insert new files; each row follows the column order of ``INSERT_FILE_SQL``."""
        if rows:
            self.db.executemany(INSERT_FILE_SQL, rows)

    def update_content(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows of (size, mtime_ns, device, inode, sha256, kind, last_seen, source_id, id)."""
        if not rows:
            return
        self.db.executemany(
            "UPDATE cf_files SET size = ?, mtime_ns = ?, device = ?, inode = ?, sha256 = ?, "
            "kind = ?, last_seen = ?, source_id = ?, deleted_at = NULL WHERE id = ?",
            rows,
        )

    def move(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows of (path, raw_path, parent, name, ext, depth, size, mtime_ns, last_seen,
        source_id, id): a renamed file keeps its id, hence its tags."""
        if not rows:
            return
        self.db.executemany(
            "UPDATE cf_files SET path = ?, raw_path = ?, parent = ?, name = ?, ext = ?, depth = ?, "
            "size = ?, mtime_ns = ?, last_seen = ?, source_id = ?, deleted_at = NULL WHERE id = ?",
            rows,
        )

    def touch(self, file_ids: Sequence[int], seen_at: float, source_id: int) -> None:
        """Mark files seen by this scan of ``source_id``, restoring any soft-deleted one."""
        if file_ids:
            condition, param = in_list(self.db, "id", file_ids)
            self.db.execute(
                "UPDATE cf_files SET last_seen = ?, source_id = ?, deleted_at = NULL "
                f"WHERE {condition}",
                (seen_at, source_id, param),
            )

    def mark_seen(self, file_ids: Sequence[int], seen_at: float) -> None:
        """Set ``last_seen`` only (live files already under this scan's source): one statement."""
        if file_ids:
            condition, param = in_list(self.db, "id", file_ids)
            self.db.execute(
                f"UPDATE cf_files SET last_seen = ? WHERE {condition}", (seen_at, param)
            )

    def soft_delete_unseen(self, source_id: int, seen_before: float, now: float) -> int:
        cursor = self.db.execute(
            "UPDATE cf_files SET deleted_at = ? "
            "WHERE source_id = ? AND deleted_at IS NULL AND last_seen < ?",
            (now, source_id, seen_before),
        )
        return max(cursor.rowcount, 0)

    def unseen_page(
        self, source_id: int, seen_before: float, after_id: int, limit: int
    ) -> list[tuple[int, str]]:
        rows = self.db.query(
            "SELECT id, path FROM cf_files WHERE source_id = ? AND deleted_at IS NULL "
            "AND last_seen < ? AND id > ? ORDER BY id LIMIT ?",
            (source_id, seen_before, after_id, limit),
        )
        return [(int(r[0]), r[1]) for r in rows]

    def soft_delete(self, file_ids: Sequence[int], now: float) -> None:
        if file_ids:
            condition, param = in_list(self.db, "id", file_ids)
            self.db.execute(f"UPDATE cf_files SET deleted_at = ? WHERE {condition}", (now, param))

    def tune_for_scan(self) -> None:
        """SQLite, this thread's connection: a 32 MB page cache and checkpoints every 40 MB of
        WAL rather than 4 MB (each checkpoint syncs to disk). Temp storage stays on disk: index
        builds sort the whole table, which in memory would grow with the number of files."""
        if self.db.dialect == "sqlite":
            self.db.execute("PRAGMA cache_size = -32768")
            self.db.execute("PRAGMA wal_autocheckpoint = 10000")

    # Secondary indexes a bulk insert may drop on SQLite and build once at the end (sorting is
    # far cheaper than one B-tree insert per row; random SHA-256 keys dirty a page per row).
    # Same definitions as in schema.py.
    BULK_INDEXES = {
        "ix_files_sha256": "CREATE INDEX IF NOT EXISTS ix_files_sha256 ON cf_files(sha256)",
        "ix_files_source": (
            "CREATE INDEX IF NOT EXISTS ix_files_source ON cf_files(source_id, deleted_at)"
        ),
        "ix_files_identity": (
            "CREATE INDEX IF NOT EXISTS ix_files_identity ON cf_files(device, inode)"
        ),
        "ix_files_parent": "CREATE INDEX IF NOT EXISTS ix_files_parent ON cf_files(parent)",
    }

    def drop_bulk_indexes(self, names: Sequence[str]) -> list[str]:
        """Drop these ``BULK_INDEXES`` for a bulk insert (SQLite only); returns those dropped."""
        if self.db.dialect != "sqlite":
            return []
        for name in names:
            self.db.execute(f"DROP INDEX IF EXISTS {name}")
        return list(names)

    def ensure_bulk_indexes(self) -> None:
        """(Re)build any of ``BULK_INDEXES`` a bulk insert dropped."""
        for sql in self.BULK_INDEXES.values():
            self.db.execute(sql)

    # -- listing -----------------------------------------------------------------------------
    def _where(self, flt: FileFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if not flt.include_deleted:
            clauses.append("f.deleted_at IS NULL")
        if flt.tag:
            clauses.append("EXISTS (SELECT 1 FROM cf_tags t WHERE t.file_id = f.id AND t.tag = ?)")
            params.append(flt.tag)
        if flt.untagged:
            clauses.append(_NOT_AUTO_TAGGED)
        if flt.pattern:
            if self.db.dialect == "sqlite":
                clauses.append("f.path GLOB ?")
                params.append(flt.pattern)
            else:
                clauses.append("f.path LIKE ? ESCAPE '\\'")
                params.append(glob_to_like(flt.pattern))
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params

    def page(
        self, flt: FileFilter, limit: int = 100, offset: int = 0, order: str = "path"
    ) -> list[FileRecord]:
        if order not in FILE_ORDERS:
            raise ValueError(f"unknown order {order!r}; use one of {', '.join(FILE_ORDERS)}")
        where, params = self._where(flt)
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

    def count(self, flt: FileFilter) -> int:
        where, params = self._where(flt)
        return int(self.db.query_one(f"SELECT COUNT(*) FROM cf_files f {where}", params)[0])

    def tags_of(self, file_ids: Sequence[int]) -> dict[int, list[str]]:
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
        found: set[int] = set()
        for chunk in chunked(file_ids):
            rows = self.db.query(
                f"SELECT id FROM cf_files WHERE id IN ({marks(len(chunk))})", chunk
            )
            found.update(int(r[0]) for r in rows)
        return found

    def ids_in_group(self, parent: str, ext: str) -> list[int]:
        rows = self.db.query(
            "SELECT id FROM cf_files WHERE parent = ? AND ext = ? AND deleted_at IS NULL",
            (parent, ext),
        )
        return [int(r[0]) for r in rows]

    def live_page(self, after_id: int, limit: int) -> list[tuple[int, str, str | None]]:
        """(id, path, source root) of live files after ``after_id``, for re-applying rules."""
        rows = self.db.query(
            "SELECT f.id, f.path, s.root FROM cf_files f LEFT JOIN cf_sources s "
            "ON s.id = f.source_id WHERE f.deleted_at IS NULL AND f.id > ? ORDER BY f.id LIMIT ?",
            (after_id, limit),
        )
        return [(int(r[0]), r[1], r[2]) for r in rows]
