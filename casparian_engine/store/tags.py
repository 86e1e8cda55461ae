"""Tags on files (``cf_tags``) and the rules that assign them on scan (``cf_tag_rules``).

Origins: ``manual`` (a person tagged the file), ``rule`` (a tag rule matched its path) and ``auto``
(the scanner's ``kind:...`` classification). A manual tag overrides a rule tag of the same name, so
removing the rule never removes what a person asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .db import Database, chunked, in_list, marks

ORIGINS = ("rule", "manual", "auto")


@dataclass(frozen=True)
class TagRule:
    """A stored rule: files matching ``pattern`` get ``tag``; higher ``priority`` is tried first."""

    id: int
    pattern: str
    tag: str
    priority: int
    created_at: float


class TagRepository:
    """File tags (``cf_tags``) and the glob rules that assign them (``cf_tag_rules``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- tags --------------------------------------------------------------------------------
    def add_manual(self, file_ids: Sequence[int], tag: str, now: float) -> None:
        """Tag files by hand (a manual tag replaces a rule's tag of the same name)."""
        self.db.executemany(
            "INSERT INTO cf_tags (file_id, tag, origin, rule_id, created_at) "
            "VALUES (?, ?, 'manual', NULL, ?) "
            "ON CONFLICT (file_id, tag) DO UPDATE SET origin = 'manual', rule_id = NULL",
            [(file_id, tag, now) for file_id in file_ids],
        )

    def add_rule_tags(self, rows: Sequence[tuple[int, str, int]], now: float) -> None:
        """Rows of (file_id, tag, rule_id); an existing tag of the same name is left as it is."""
        self.db.executemany(
            "INSERT INTO cf_tags (file_id, tag, origin, rule_id, created_at) "
            "VALUES (?, ?, 'rule', ?, ?) ON CONFLICT (file_id, tag) DO NOTHING",
            [(file_id, tag, rule_id, now) for file_id, tag, rule_id in rows],
        )

    def replace_auto(
        self, rows: Sequence[tuple[int, str]], now: float, known_ids: set[int] | None = None
    ) -> None:
        """Set each file's single automatic tag, rows of (file_id, tag), dropping the old one.

        ``known_ids`` limits the drop to files that may have one (new files have none)."""
        ids = [file_id for file_id, _ in rows if known_ids is None or file_id in known_ids]
        if ids:
            condition, param = in_list(self.db, "file_id", ids)
            self.db.execute(f"DELETE FROM cf_tags WHERE origin = 'auto' AND {condition}", (param,))
        self.db.executemany(
            "INSERT INTO cf_tags (file_id, tag, origin, rule_id, created_at) "
            "VALUES (?, ?, 'auto', NULL, ?) ON CONFLICT (file_id, tag) DO NOTHING",
            [(file_id, tag, now) for file_id, tag in rows],
        )

    def add_auto_for_inserted(
        self, after_id: int, source_id: int, first_seen: float, now: float
    ) -> None:
        """Give the files one scan inserted after ``after_id`` their ``kind:`` tag, in SQL.

        The unary ``+`` keeps SQLite on the id range (not the source index, which is O(N))."""
        self.db.execute(
            "INSERT INTO cf_tags (file_id, tag, origin, rule_id, created_at) "
            "SELECT id, 'kind:' || kind, 'auto', NULL, ? FROM cf_files "
            "WHERE id > ? AND +source_id = ? AND +first_seen = ? AND kind IS NOT NULL "
            "ON CONFLICT (file_id, tag) DO NOTHING",
            (now, after_id, source_id, first_seen),
        )

    def remove(self, file_ids: Sequence[int], tag: str) -> int:
        """Remove ``tag`` from these files whatever its origin; returns how many were removed."""
        removed = 0
        for chunk in chunked(file_ids):
            cursor = self.db.execute(
                f"DELETE FROM cf_tags WHERE tag = ? AND file_id IN ({marks(len(chunk))})",
                (tag, *chunk),
            )
            removed += max(cursor.rowcount, 0)
        return removed

    def clear_rule_tags(self, file_ids: Sequence[int] | None = None) -> None:
        """Drop rule-assigned tags of these files (of every file when ``None``)."""
        if file_ids is None:
            self.db.execute("DELETE FROM cf_tags WHERE origin = 'rule'")
            return
        for chunk in chunked(file_ids):
            self.db.execute(
                f"DELETE FROM cf_tags WHERE origin = 'rule' AND file_id IN ({marks(len(chunk))})",
                chunk,
            )

    def counts(self) -> list[tuple[str, int]]:
        """Every tag on a live file with its file count, most used first."""
        rows = self.db.query(
            "SELECT t.tag, COUNT(*) FROM cf_tags t JOIN cf_files f ON f.id = t.file_id "
            "WHERE f.deleted_at IS NULL GROUP BY t.tag ORDER BY COUNT(*) DESC, t.tag"
        )
        return [(r[0], int(r[1])) for r in rows]

    # -- rules -------------------------------------------------------------------------------
    def add_rule(self, pattern: str, tag: str, priority: int, now: float) -> TagRule:
        """Add a tag rule, or change the priority of the same pattern and tag."""
        row = self.db.query_one(
            "INSERT INTO cf_tag_rules (pattern, tag, priority, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (pattern, tag) DO UPDATE SET priority = excluded.priority "
            "RETURNING id, pattern, tag, priority, created_at",
            (pattern, tag, priority, now),
        )
        return TagRule(int(row[0]), row[1], row[2], int(row[3]), float(row[4]))

    def list_rules(self) -> list[TagRule]:
        """Every tag rule, highest priority first."""
        rows = self.db.query(
            "SELECT id, pattern, tag, priority, created_at FROM cf_tag_rules "
            "ORDER BY priority DESC, id"
        )
        return [TagRule(int(r[0]), r[1], r[2], int(r[3]), float(r[4])) for r in rows]

    def remove_rule(self, rule_id: int) -> TagRule | None:
        """Delete one rule and return it (None if there was none); its tags are not touched here."""
        row = self.db.query_one(
            "DELETE FROM cf_tag_rules WHERE id = ? "
            "RETURNING id, pattern, tag, priority, created_at",
            (rule_id,),
        )
        if row is None:
            return None
        return TagRule(int(row[0]), row[1], row[2], int(row[3]), float(row[4]))
