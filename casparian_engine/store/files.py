"""The file inventory: scanned sources and the files found under them (cf_sources, cf_files).

Lookups take batches (one bound list per query: ``json_each`` on SQLite, ``= ANY`` on PostgreSQL,
or ``IN`` lists of at most ``MAX_PARAMS``) so a scan never holds the whole table in memory and never
pays one round-trip per file. Listing is paged with ``LIMIT``/``OFFSET``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .db import MAX_PARAMS, Database, chunked, in_list, marks
from .file_reads import (
    FILE_ORDERS,
    FileFilter,
    FileReads,
    FileRecord,
    FileStats,
    UntaggedGroup,
)

__all__ = [
    "FILE_ORDERS",
    "INSERT_FILE_SQL",
    "MAX_PARAMS",
    "FileFilter",
    "FileRecord",
    "FileRepository",
    "FileStats",
    "KnownFile",
    "KnownRow",
    "UntaggedGroup",
    "chunked",
    "in_list",
    "marks",
]

_INT64_MAX = 2**63 - 1
INSERT_FILE_SQL = (
    "INSERT INTO cf_files (source_id, path, raw_path, parent, name, ext, depth, size, mtime_ns, "
    "device, inode, sha256, kind, first_seen, last_seen) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING"
)

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
        """The path to open (the real bytes for names that are not valid UTF-8)."""
        return os.fsdecode(self.raw_path) if self.raw_path is not None else self.path


class FileRepository(FileReads):
    """Sources and files as scans record them; the listing queries come from ``FileReads``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- sources -----------------------------------------------------------------------------
    def upsert_source(self, root: str, now: float) -> int:
        """The id of the source at ``root``, created on its first scan; stamps the scan time."""
        row = self.db.query_one(
            "INSERT INTO cf_sources (root, first_scanned_at, last_scanned_at) VALUES (?, ?, ?) "
            "ON CONFLICT (root) DO UPDATE SET last_scanned_at = excluded.last_scanned_at "
            "RETURNING id",
            (root, now, now),
        )
        return int(row[0])

    def refresh_source_count(self, source_id: int) -> int:
        """Store and return the number of live files under a source."""
        row = self.db.query_one(
            "SELECT COUNT(*) FROM cf_files WHERE source_id = ? AND deleted_at IS NULL",
            (source_id,),
        )
        self.db.execute("UPDATE cf_sources SET file_count = ? WHERE id = ?", (row[0], source_id))
        return int(row[0])

    def source_roots(self) -> dict[int, str]:
        """Root folder of every source by id."""
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
        """Soft-delete a source's live files a scan did not see; returns how many."""
        cursor = self.db.execute(
            "UPDATE cf_files SET deleted_at = ? "
            "WHERE source_id = ? AND deleted_at IS NULL AND last_seen < ?",
            (now, source_id, seen_before),
        )
        return max(cursor.rowcount, 0)

    def unseen_page(
        self, source_id: int, seen_before: float, after_id: int, limit: int
    ) -> list[tuple[int, str]]:
        """(id, path) of a source's live files not seen since ``seen_before``, one keyset page."""
        rows = self.db.query(
            "SELECT id, path FROM cf_files WHERE source_id = ? AND deleted_at IS NULL "
            "AND last_seen < ? AND id > ? ORDER BY id LIMIT ?",
            (source_id, seen_before, after_id, limit),
        )
        return [(int(r[0]), r[1]) for r in rows]

    def soft_delete(self, file_ids: Sequence[int], now: float) -> None:
        """Mark these files deleted (rows and tags are kept for lineage)."""
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
        unknown = [name for name in names if name not in self.BULK_INDEXES]
        if unknown:
            raise ValueError(
                f"{unknown[0]!r}: not a bulk index; use one of {list(self.BULK_INDEXES)}"
            )
        if self.db.dialect != "sqlite":
            return []
        for name in names:
            self.db.execute(f"DROP INDEX IF EXISTS {name}")  # a known name, never user text
        return list(names)

    def ensure_bulk_indexes(self) -> None:
        """(Re)build any of ``BULK_INDEXES`` a bulk insert dropped."""
        for sql in self.BULK_INDEXES.values():
            self.db.execute(sql)
