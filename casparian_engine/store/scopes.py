"""Scopes: named, re-resolvable groups of scanned files (by tags, patterns or paths)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from ..patterns import RELATIVE_SQL, PathPatterns
from .db import Database


@dataclass(frozen=True)
class ScopeDefinition:
    """Files that carry any of ``tags`` AND match ``patterns`` AND lie under one of ``paths``.

    An empty criterion does not narrow. Patterns are read by ``PathPatterns`` (gitignore-style,
    matched against the path relative to the scanned root, ``!`` negates), as everywhere else.
    """

    name: str
    tags: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    created_at: float = field(default=0.0, compare=False)

    def to_json(self) -> str:
        return json.dumps(
            {"tags": list(self.tags), "patterns": list(self.patterns), "paths": list(self.paths)},
            sort_keys=True,
        )


@dataclass(frozen=True)
class ScopedFile:
    """A file in a scope, with its path relative to its source root."""

    file_id: int
    path: str
    relative_path: str
    size: int
    sha256: str | None


class ScopeRepository:
    """Named scopes (``cf_scopes``): saved selections of files by tags, patterns and paths."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, scope: ScopeDefinition) -> ScopeDefinition:
        """Create or replace a scope by name; returns it as stored. ``PatternError`` (naming it)
        for a pattern that cannot be read."""
        PathPatterns(scope.patterns)
        now = time.time()
        self.db.execute(
            "INSERT INTO cf_scopes (name, definition, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, "
            "created_at = excluded.created_at",
            (scope.name, scope.to_json(), now),
        )
        return ScopeDefinition(scope.name, scope.tags, scope.patterns, scope.paths, now)

    def get(self, name: str) -> ScopeDefinition | None:
        """The scope named ``name``, or None."""
        row = self.db.query_one(
            "SELECT name, definition, created_at FROM cf_scopes WHERE name = ?", (name,)
        )
        if row is None:
            return None
        body = json.loads(row[1])
        return ScopeDefinition(
            row[0], tuple(body["tags"]), tuple(body["patterns"]), tuple(body["paths"]), row[2]
        )

    def all(self) -> list[ScopeDefinition]:
        """Every scope, by name."""
        names = [r[0] for r in self.db.query("SELECT name FROM cf_scopes ORDER BY name")]
        return [scope for name in names if (scope := self.get(name)) is not None]

    def resolve(self, scope: ScopeDefinition, batch_size: int = 5_000) -> Iterator[ScopedFile]:
        """Stream the live (not deleted) files in the scope, ordered by path."""
        clauses = ["f.deleted_at IS NULL"]
        params: list[object] = []
        if scope.tags:
            marks = ", ".join("?" for _ in scope.tags)
            clauses.append(
                f"EXISTS (SELECT 1 FROM cf_tags t WHERE t.file_id = f.id AND t.tag IN ({marks}))"
            )
            params.extend(scope.tags)
        if scope.paths:
            ors = []
            for path in scope.paths:
                trimmed = path.rstrip("/")
                ors.append("(f.path = ? OR substr(f.path, 1, ?) = ?)")
                params.extend([trimmed, len(trimmed) + 1, trimmed + "/"])
            clauses.append("(" + " OR ".join(ors) + ")")
        spec = PathPatterns(scope.patterns) if scope.patterns else None
        last_path = ""
        while True:
            rows = self.db.query(
                f"SELECT f.id, f.path, {RELATIVE_SQL}, f.size, f.sha256 "
                "FROM cf_files f LEFT JOIN cf_sources s ON s.id = f.source_id "
                f"WHERE {' AND '.join(clauses)} AND f.path > ? ORDER BY f.path LIMIT ?",
                (*params, last_path, batch_size),
            )
            if not rows:
                return
            keep = [True] * len(rows)
            if spec is not None:
                keep = spec.mask(pa.array([row[2] for row in rows], pa.string())).to_pylist()
            for (file_id, path, relative, size, sha256), kept in zip(rows, keep, strict=True):
                if kept:
                    yield ScopedFile(file_id, path, relative, size, sha256)
            last_path = rows[-1][1]


def scope_from_arguments(
    name: str,
    tags: Sequence[str] | None = None,
    patterns: Sequence[str] | None = None,
    paths: Sequence[str] | None = None,
) -> ScopeDefinition:
    """A scope from optional argument lists (None means none of that kind)."""
    return ScopeDefinition(name, tuple(tags or ()), tuple(patterns or ()), tuple(paths or ()))
