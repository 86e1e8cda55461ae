"""The audit trail: who did what, when, with which hashes (spec §7.4)."""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .db import Database


def os_user() -> str:
    """The operating-system user behind this process, as the audit trail records it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class AuditEntry:
    """One audit trail entry: when, which OS user, what action on what subject, and details."""

    id: int
    at: float
    os_user: str
    action: str
    subject: str
    details: dict[str, Any]


class AuditRepository:
    """The append-only audit trail (``cf_audit``): who did what, when."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, action: str, subject: str = "", **details: Any) -> int:
        """Append one entry; ``details`` must be JSON-serialisable (hashes, ids, counts)."""
        row = self.db.query_one(
            "INSERT INTO cf_audit (at, os_user, action, subject, details) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            (time.time(), os_user(), action, subject, json.dumps(details, sort_keys=True)),
        )
        return int(row[0])

    def record_many(self, entries: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        """Append several (action, subject, details) entries with one statement."""
        now, user = time.time(), os_user()
        self.db.executemany(
            "INSERT INTO cf_audit (at, os_user, action, subject, details) VALUES (?, ?, ?, ?, ?)",
            [
                (now, user, action, subject, json.dumps(details, sort_keys=True))
                for action, subject, details in entries
            ],
        )

    def list(
        self,
        action: str | None = None,
        since: float | None = None,
        limit: int = 1000,
        containing: str | None = None,
        *,
        until: float | None = None,
        before_id: int | None = None,
    ) -> list[AuditEntry]:
        """Entries newest first, optionally one action only, at or after ``since`` and before
        ``until``, whose action, OS user or subject contains ``containing`` (any case,
        literally), at most ``limit``; ``before_id`` (the last id of the previous page) pages
        on by keyset."""
        where, params = _where(action, since, until, containing)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.query(
            f"SELECT id, at, os_user, action, subject, details FROM cf_audit {clause} "
            "ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def count(
        self,
        action: str | None = None,
        since: float | None = None,
        containing: str | None = None,
        *,
        until: float | None = None,
    ) -> int:
        """How many entries ``list`` with the same filters would page through."""
        where, params = _where(action, since, until, containing)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        row = self.db.query_one(f"SELECT COUNT(*) FROM cf_audit {clause}", tuple(params))
        return int(row[0]) if row else 0


def _where(
    action: str | None, since: float | None, until: float | None, containing: str | None
) -> tuple[list[str], list[Any]]:
    """The WHERE clauses and parameters of the audit filters."""
    clauses: list[str] = []
    params: list[Any] = []
    if containing:
        pattern = "%" + _like_literal(containing.lower()) + "%"
        clauses.append(
            "(LOWER(action) LIKE ? ESCAPE '\\' OR LOWER(os_user) LIKE ? ESCAPE '\\' "
            "OR LOWER(subject) LIKE ? ESCAPE '\\')"
        )
        params.extend([pattern, pattern, pattern])
    if action:
        clauses.append("action = ?")
        params.append(action)
    if since is not None:
        clauses.append("at >= ?")
        params.append(since)
    if until is not None:
        clauses.append("at < ?")
        params.append(until)
    return clauses, params


def _like_literal(text: str) -> str:
    """``text`` for a LIKE pattern with ``ESCAPE '\\'``: its % and _ match only themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
