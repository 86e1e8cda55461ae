"""Quarantined rows in ``cf_quarantine`` (one row each, with lineage) and ``cf_quarantine_rules``.

``add`` stores a validator's quarantined table in one transaction (``executemany``); it and
``mark_replayed`` bump a change counter in ``cf_meta`` in the same transaction, so ``changes()``
tells a reader (the query catalog's copy) whether anything changed with one key lookup. Listing is
keyset-paginated (``id > after`` ordered by id) so a page costs the same at row 10 and row 10
million; the rule filter goes through ``cf_quarantine_rules``' primary key (rule, quarantine_id).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..source_lines import POINTER_LINE, POINTER_ROW
from .db import Database, in_list

if TYPE_CHECKING:
    import pyarrow as pa


def _arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.int64()),
            ("job_id", pa.int64()),
            ("parser_name", pa.string()),
            ("parser_version", pa.string()),
            ("output_name", pa.string()),
            ("source_path", pa.string()),
            ("source_row", pa.int64()),
            ("rules", pa.string()),
            ("violations", pa.string()),
            ("row_values", pa.string()),
            ("created_at", pa.float64()),
        ]
    )


def _replay_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.int64()),
            ("job_id", pa.int64()),
            ("parser_version", pa.string()),
            ("source_hash", pa.string()),
            ("source_row", pa.int64()),
            ("row_values", pa.string()),
        ]
    )


_COLUMNS = (
    "id, job_id, parser_name, parser_version, output_name, contract_hash, source_path, "
    "source_hash, source_row, rules, violations, row_values, created_at, replayed_at, "
    "replay_job_id, source_row_unit"
)
ARROW_COLUMNS = (
    "q.id, q.job_id, q.parser_name, q.parser_version, q.output_name, q.source_path, "
    "q.source_row, q.rules, q.violations, q.row_values, q.created_at"
)
"""What SQL over the quarantine sees (``arrow_pages``): lineage, rules and the row's values."""
_Q_COLUMNS = ", ".join("q." + name.strip() for name in _COLUMNS.split(","))
_CHANGES_KEY = "quarantine_changes"


@dataclass(frozen=True)
class QuarantinedRow:
    """One quarantined row: where it came from, what it broke, and its original values."""

    id: int
    job_id: int | None
    parser_name: str
    parser_version: str
    output_name: str
    contract_hash: str | None
    source_path: str | None
    source_hash: str | None
    source_row: int | None
    rules: str
    violations: list[dict[str, Any]]
    row_values: dict[str, Any]
    created_at: float
    replayed_at: float | None
    replay_job_id: int | None
    source_row_unit: str = POINTER_ROW
    """``"line"``: ``source_row`` is a line of the source file (the parser set ``_cf_row``);
    ``"row"``: it is the row's position among the parser's rows (the executor numbered it)."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _row(row: Any) -> QuarantinedRow:
    return QuarantinedRow(
        id=row[0],
        job_id=row[1],
        parser_name=row[2],
        parser_version=row[3],
        output_name=row[4],
        contract_hash=row[5],
        source_path=row[6],
        source_hash=row[7],
        source_row=row[8],
        rules=row[9],
        violations=json.loads(row[10]),
        row_values=json.loads(row[11]),
        created_at=row[12],
        replayed_at=row[13],
        replay_job_id=row[14],
        source_row_unit=row[15],
    )


@dataclass(frozen=True)
class QuarantineFilter:
    """Which quarantined rows: by job, parser (and version), output or rule (``cast``,
    ``cast:amount``)."""

    job_id: int | None = None
    parser_name: str | None = None
    output_name: str | None = None
    rule: str | None = None
    include_replayed: bool = False
    parser_version: str | None = None
    current_versions: tuple[tuple[str, str], ...] | None = None
    """(parser, version) pairs: rows of those parsers only at that version (others kept)."""
    quarantine_id: int | None = None
    """One row only (replaying a single row after a fix)."""

    def where(self) -> tuple[str, list[Any]]:
        """This filter as one SQL condition over ``q`` (``1 = 1`` when empty) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.parser_version is not None:
            clauses.append("q.parser_version = ?")
            params.append(self.parser_version)
        if self.current_versions:
            names = ", ".join("?" for _ in self.current_versions)
            pairs = " OR ".join(
                "(q.parser_name = ? AND q.parser_version = ?)" for _ in self.current_versions
            )
            clauses.append(f"(q.parser_name NOT IN ({names}) OR {pairs})")
            params.extend(name for name, _ in self.current_versions)
            for name, version in self.current_versions:
                params.extend((name, version))
        if self.quarantine_id is not None:
            clauses.append("q.id = ?")
            params.append(self.quarantine_id)
        if self.job_id is not None:
            clauses.append("q.job_id = ?")
            params.append(self.job_id)
        if self.parser_name is not None:
            clauses.append("q.parser_name = ?")
            params.append(self.parser_name)
        if self.output_name is not None:
            clauses.append("q.output_name = ?")
            params.append(self.output_name)
        if not self.include_replayed:
            clauses.append("q.replayed_at IS NULL")
        if self.rule is not None:
            if ":" in self.rule:
                clauses.append(
                    "q.id IN (SELECT quarantine_id FROM cf_quarantine_rules WHERE rule = ?)"
                )
                params.append(self.rule)
            else:
                # 'cast' matches 'cast' and every 'cast:<column>': a range scan of the key.
                clauses.append(
                    "q.id IN (SELECT quarantine_id FROM cf_quarantine_rules "
                    "WHERE rule = ? OR (rule >= ? AND rule < ?))"
                )
                params.extend([self.rule, self.rule + ":", self.rule + ";"])
        return (" AND ".join(clauses) or "1 = 1"), params


class QuarantineRepository:
    """Quarantined rows with lineage and reasons (``cf_quarantine``), paged by keyset."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        job_id: int | None,
        parser_name: str,
        parser_version: str,
        output_name: str,
        contract_hash: str | None,
        source_path: str | None,
        source_hash: str | None,
        quarantined: pa.Table,
        source_row_unit: str = POINTER_ROW,
    ) -> int:
        """Store every row of a validator's quarantined table in one transaction; returns count.

        ``source_row_unit`` says what the table's ``_cf_row`` counts (``"line"`` or ``"row"``).
        """
        if source_row_unit not in (POINTER_LINE, POINTER_ROW):
            raise ValueError(
                f"source_row_unit must be {POINTER_LINE!r} or {POINTER_ROW!r}, "
                f"got {source_row_unit!r}"
            )
        count = int(quarantined.num_rows)
        if count == 0:
            return 0
        lineage = (job_id, parser_name, parser_version, output_name, contract_hash, source_path,
                   source_hash)  # fmt: skip
        with self.db.transaction():
            first_id = self._reserve_ids(count)
            self.db.executemany(
                f"INSERT INTO cf_quarantine ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
                _quarantine_rows(first_id, lineage, quarantined, time.time(), source_row_unit),
            )
            self.db.executemany(
                "INSERT INTO cf_quarantine_rules (quarantine_id, rule) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                _rule_rows(first_id, quarantined),
            )
            self._changed()
        return count

    def _changed(self) -> None:
        """Count one change of the quarantined rows (inside the writer's transaction)."""
        self.db.execute(
            "INSERT INTO cf_meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE"
            " SET value = CAST(CAST(cf_meta.value AS BIGINT) + 1 AS TEXT)",
            (_CHANGES_KEY,),
        )

    def changes(self) -> int:
        """How many times rows were added or marked replayed since the store was made (one key
        read): equal values mean the same quarantined rows."""
        row = self.db.query_one("SELECT value FROM cf_meta WHERE key = ?", (_CHANGES_KEY,))
        return int(row[0]) if row else 0

    def _reserve_ids(self, count: int) -> int:
        """The first of ``count`` fresh consecutive ids (inside the caller's transaction)."""
        if self.db.dialect == "postgresql":
            rows = self.db.query(
                "SELECT nextval(pg_get_serial_sequence('cf_quarantine', 'id')) "
                "FROM generate_series(1, ?)",
                (count,),
            )
            ids = sorted(int(r[0]) for r in rows)
            if ids[-1] - ids[0] + 1 == count:
                return ids[0]
            self.db.execute(
                "SELECT setval(pg_get_serial_sequence('cf_quarantine', 'id'), ?)",
                (ids[-1] + count,),
            )
            return ids[-1] + 1
        # SQLite: BEGIN IMMEDIATE holds the write lock, so nobody else can take these ids.
        row = self.db.query_one("SELECT COALESCE(MAX(id), 0) FROM cf_quarantine")
        return int(row[0]) + 1

    def list(
        self, where: QuarantineFilter = QuarantineFilter(), after_id: int = 0, limit: int = 50
    ) -> list[QuarantinedRow]:
        """One page in id order, starting after ``after_id`` (keyset pagination).

        A rule filter walks ``cf_quarantine_rules``' key (rule, quarantine_id) from ``after_id``
        for each rule name it covers ('cast' covers 'cast:amount', 'cast:qty', ...), and the
        pages are merged: the cost is one page per rule name, however deep the page.
        """
        if where.rule is None:
            clause, params = where.where()
            rows = self.db.query(
                f"SELECT {_COLUMNS} FROM cf_quarantine q WHERE q.id > ? AND {clause} "
                "ORDER BY q.id LIMIT ?",
                (after_id, *params, limit),
            )
            return [_row(r) for r in rows]
        clause, params = replace(where, rule=None).where()
        by_id: dict[int, Any] = {}
        for rule in self._rule_names(where.rule):
            rows = self.db.query(
                f"SELECT {_Q_COLUMNS} FROM cf_quarantine_rules r "
                "JOIN cf_quarantine q ON q.id = r.quarantine_id "
                f"WHERE r.rule = ? AND r.quarantine_id > ? AND {clause} "
                "ORDER BY r.quarantine_id LIMIT ?",
                (rule, after_id, *params, limit),
            )
            by_id.update((row[0], row) for row in rows)
        return [_row(by_id[key]) for key in sorted(by_id)[:limit]]

    def _rule_names(self, rule: str) -> tuple[str, ...]:
        """The stored rule names a filter covers: itself, and '<rule>:<column>' for a bare rule.

        A recursive seek (each step one index lookup for the next name) lists the distinct names
        without reading every row that carries them.
        """
        if ":" in rule:
            return (rule,)
        rows = self.db.query(
            "WITH RECURSIVE names(rule) AS ("
            " SELECT MIN(rule) FROM cf_quarantine_rules WHERE rule >= ? AND rule < ?"
            " UNION ALL"
            " SELECT (SELECT MIN(r.rule) FROM cf_quarantine_rules r"
            "         WHERE r.rule > names.rule AND r.rule < ?)"
            " FROM names WHERE names.rule IS NOT NULL"
            ") SELECT rule FROM names WHERE rule IS NOT NULL",
            (rule + ":", rule + ";", rule + ";"),
        )
        return (rule, *(str(row[0]) for row in rows))

    def count(self, where: QuarantineFilter = QuarantineFilter(), cap: int | None = None) -> int:
        """Matching rows. With ``cap`` the count stops at cap + 1 ("more than cap"), so it
        costs O(cap) however many millions match; without, it reads every match."""
        clause, params = where.where()
        if cap is None:
            row = self.db.query_one(f"SELECT COUNT(*) FROM cf_quarantine q WHERE {clause}", params)
            return int(row[0])
        if where.rule is None:
            row = self.db.query_one(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM cf_quarantine q WHERE {clause} LIMIT ?) c",
                (*params, cap + 1),
            )
            return int(row[0])
        clause, params = replace(where, rule=None).where()
        seen: set[int] = set()
        for rule in self._rule_names(where.rule):
            rows = self.db.query(
                "SELECT r.quarantine_id FROM cf_quarantine_rules r "
                "JOIN cf_quarantine q ON q.id = r.quarantine_id "
                f"WHERE r.rule = ? AND {clause} LIMIT ?",
                (rule, *params, cap + 1),
            )
            seen.update(int(row[0]) for row in rows)
        return min(len(seen), cap + 1)

    def arrow_reader(
        self,
        where: QuarantineFilter = QuarantineFilter(),
        max_rows: int = 1_000_000,
        page_rows: int = 10_000,
    ) -> pa.RecordBatchReader:
        """At most ``max_rows`` matching rows in id order as an Arrow stream (one keyset page a
        batch), for SQL over the quarantine; ``violations`` and ``row_values`` stay JSON text."""
        import pyarrow as pa

        schema = _arrow_schema()
        return pa.RecordBatchReader.from_batches(
            schema, self._arrow_pages(where, schema, max_rows, page_rows)
        )

    def _arrow_pages(
        self, where: QuarantineFilter, schema: pa.Schema, max_rows: int, page_rows: int
    ) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        clause, params = where.where()
        after_id, left = 0, max_rows
        while left > 0:
            rows = self.db.query(
                f"SELECT {ARROW_COLUMNS} FROM cf_quarantine q WHERE q.id > ? AND {clause} "
                "ORDER BY q.id LIMIT ?",
                (after_id, *params, min(page_rows, left)),
            )
            if not rows:
                return
            left -= len(rows)
            columns = zip(*rows, strict=True)
            arrays = [pa.array(values, kind) for values, kind in zip(columns, schema.types,
                                                                     strict=True)]  # fmt: skip
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)
            after_id = int(rows[-1][0])

    def groups(self, where: QuarantineFilter = QuarantineFilter()) -> tuple[tuple[str, str], ...]:
        """The (parser, output) pairs of the matching rows, sorted."""
        clause, params = where.where()
        rows = self.db.query(
            f"SELECT DISTINCT q.parser_name, q.output_name FROM cf_quarantine q WHERE {clause}",
            params,
        )
        return tuple(sorted((str(r[0]), str(r[1])) for r in rows))

    def contract_hashes(self, where: QuarantineFilter = QuarantineFilter()) -> tuple[str, ...]:
        """The contract hashes the matching rows were checked against, first seen first."""
        clause, params = where.where()
        rows = self.db.query(
            f"SELECT q.contract_hash, MIN(q.id) FROM cf_quarantine q WHERE {clause} "
            "AND q.contract_hash IS NOT NULL GROUP BY q.contract_hash ORDER BY MIN(q.id)",
            params,
        )
        return tuple(str(r[0]) for r in rows)

    def replay_page(self, where: QuarantineFilter, after_id: int, limit: int) -> pa.RecordBatch:
        """At most ``limit`` matching rows after ``after_id`` in id order, as the columns a replay
        needs (id, job_id, parser_version, source_hash, source_row, row_values as JSON text)."""
        import pyarrow as pa

        clause, params = where.where()
        rows = self.db.query(
            "SELECT q.id, q.job_id, q.parser_version, q.source_hash, q.source_row, q.row_values "
            f"FROM cf_quarantine q WHERE q.id > ? AND {clause} ORDER BY q.id LIMIT ?",
            (after_id, *params, limit),
        )
        schema = _replay_schema()
        if not rows:
            return pa.RecordBatch.from_pylist([], schema=schema)
        columns = zip(*rows, strict=True)
        arrays = [pa.array(values, kind) for values, kind in zip(columns, schema.types,
                                                                 strict=True)]  # fmt: skip
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def get(self, quarantine_id: int) -> QuarantinedRow | None:
        """One quarantined row by id, or None."""
        row = self.db.query_one(
            f"SELECT {_COLUMNS} FROM cf_quarantine WHERE id = ?", (quarantine_id,)
        )
        return _row(row) if row else None

    def rule_counts(self, where: QuarantineFilter = QuarantineFilter()) -> dict[str, int]:
        """How many rows broke each rule (a row may break several)."""
        clause, params = where.where()
        rows = self.db.query(
            "SELECT r.rule, COUNT(*) FROM cf_quarantine_rules r JOIN cf_quarantine q "
            f"ON q.id = r.quarantine_id WHERE {clause} GROUP BY r.rule ORDER BY COUNT(*) DESC",
            params,
        )
        return {r[0]: int(r[1]) for r in rows}

    def mark_replayed(self, ids: Sequence[int], replay_job_id: int | None = None) -> int:
        """Mark rows as moved to the output (inside the caller's transaction, if any)."""
        condition, bound = in_list(self.db, "id", ids)
        with self.db.transaction():  # the rows and the change counter together
            self.db.execute(
                "UPDATE cf_quarantine SET replayed_at = ?, replay_job_id = ? "
                f"WHERE {condition} AND replayed_at IS NULL",
                (time.time(), replay_job_id, bound),
            )
            self._changed()
        return len(ids)


def _quarantine_rows(
    first_id: int,
    lineage: tuple[Any, ...],
    quarantined: pa.Table,
    now: float,
    source_row_unit: str,
) -> Iterator[tuple[Any, ...]]:
    """The ``cf_quarantine`` rows of a quarantined table, ids from ``first_id``; ``lineage`` is
    (job, parser, version, output, contract hash, source path, source hash)."""
    source_rows = quarantined.column("_cf_row").to_pylist()
    rules = quarantined.column("rules").to_pylist()
    violations = quarantined.column("violations").to_pylist()
    values = quarantined.column("row_values").to_pylist()
    for index in range(quarantined.num_rows):
        yield (first_id + index, *lineage, source_rows[index], rules[index], violations[index],
               values[index], now, source_row_unit)  # fmt: skip


def _rule_rows(first_id: int, quarantined: pa.Table) -> Iterator[tuple[int, str]]:
    """(quarantine id, rule) for each rule of each row's comma-separated ``rules``."""
    import pyarrow.compute as pc

    split_rules = pc.split_pattern(quarantined.column("rules"), ",")
    flat_rules = pc.list_flatten(split_rules)
    owner = pc.list_parent_indices(split_rules)
    for parent, rule in zip(owner.to_pylist(), flat_rules.to_pylist(), strict=True):
        if rule:
            yield first_id + parent, rule
