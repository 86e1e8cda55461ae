"""Seams of the executor: validating an output's rows and keeping the rows that fail.

``Validator`` splits a batch into valid and quarantined rows (the contracts package provides the
real one). ``QuarantineWriter`` stores quarantined rows with lineage: in dev mode the default writes
them to the run's sink as ``<output>__quarantine`` so nothing is lost; the store-backed writer keeps
them in ``cf_quarantine``. Quarantined tables have the columns ``_cf_row``, ``rules``,
``violations`` (JSON list) and ``row_values`` (JSON object of the original values as text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from ..quarantine_rows import QUARANTINE_SCHEMA, ROW_COLUMN, ROW_ERROR_COLUMN
from ..sinks import Sink
from ..source_lines import POINTER_LINE, POINTER_ROW

if TYPE_CHECKING:
    from ..store import Store

PARSER_FLAGGED_RULE = "parser_flagged"
QUARANTINE_SUFFIX = "__quarantine"


@dataclass(frozen=True)
class RowLineage:
    """Where a batch of rows came from: enough to trace a quarantined row back to its line."""

    source_path: str
    source_hash: str
    job_id: int
    parser_name: str
    parser_version: str
    output: str
    contract_hash: str | None = None
    source_row_unit: str = POINTER_ROW
    """What ``_cf_row`` counts: ``"line"`` when the parser set it (a line of the source file),
    ``"row"`` when the executor numbered the rows by their position in the file."""


def row_unit(table: pa.Table) -> str:
    """``"line"`` when a parser's table carries its own ``_cf_row``, else ``"row"``."""
    return POINTER_LINE if ROW_COLUMN in table.column_names else POINTER_ROW


@dataclass(frozen=True)
class Split:
    """A batch split into rows for the output and rows for quarantine."""

    valid: pa.Table
    quarantined: pa.Table


class Validator(Protocol):
    """Checks an output's rows against its contract (if any)."""

    def __call__(self, output: str, table: pa.Table) -> Split: ...


class QuarantineWriter(Protocol):
    """Stores quarantined rows; never drops them."""

    def write(self, quarantined: pa.Table, lineage: RowLineage) -> None: ...


def accept_all(output: str, table: pa.Table) -> Split:
    """The validator for outputs without a contract: every row is valid."""
    return Split(valid=table, quarantined=QUARANTINE_SCHEMA.empty_table())


class SinkQuarantineWriter:
    """Dev default: quarantined rows go to the run's sink as ``<output>__quarantine``."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def write(self, quarantined: pa.Table, lineage: RowLineage) -> None:
        if quarantined.num_rows == 0:
            return
        rows = quarantined.num_rows
        table = quarantined.select(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA)
        table = table.append_column("_cf_source_path", pa.repeat(lineage.source_path, rows))
        table = table.append_column("_cf_source_hash", pa.repeat(lineage.source_hash, rows))
        table = table.append_column(
            "_cf_job_id", pa.repeat(pa.scalar(lineage.job_id, pa.int64()), rows)
        )
        table = table.append_column("_cf_parser_version", pa.repeat(lineage.parser_version, rows))
        self.sink.write(lineage.output + QUARANTINE_SUFFIX, table)


# --- parser-flagged rows ----------------------------------------------------------------------


def split_parser_flagged(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Rows with a non-null ``_cf_row_error`` go to quarantine; the column leaves the rest."""
    if ROW_ERROR_COLUMN not in table.column_names:
        return table, QUARANTINE_SCHEMA.empty_table()
    reasons = table.column(ROW_ERROR_COLUMN)
    if not pa.types.is_string(reasons.type) and not pa.types.is_large_string(reasons.type):
        reasons = pc.cast(reasons, pa.string())
    flagged_mask = pc.is_valid(reasons)
    rest = table.drop_columns([ROW_ERROR_COLUMN])
    flagged_count = pc.sum(pc.cast(flagged_mask, pa.int64())).as_py() or 0
    if flagged_count == 0:
        return rest, QUARANTINE_SCHEMA.empty_table()
    clean = rest.filter(pc.invert(flagged_mask))
    flagged = rest.filter(flagged_mask)
    flagged_reasons = pc.filter(reasons, flagged_mask)
    values = flagged.drop_columns([ROW_COLUMN]) if ROW_COLUMN in flagged.column_names else flagged
    violations = pc.binary_join_element_wise(
        '[{"column": null, "rule": "' + PARSER_FLAGGED_RULE + '", "reason": ',
        json_text(flagged_reasons),
        "}]",
        "",
    )
    quarantined = pa.table(
        {
            ROW_COLUMN: flagged.column(ROW_COLUMN),
            "rules": pa.repeat(PARSER_FLAGGED_RULE, flagged.num_rows),
            "violations": violations,
            "row_values": row_values_json(values),
        },
        schema=QUARANTINE_SCHEMA,
    )
    return clean, quarantined


def json_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Each value as a JSON string literal (``null`` for nulls), built with vector kernels."""
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    escaped = values
    if pc.any(pc.match_substring_regex(values, '["\\\\\\x00-\\x1f]')).as_py():
        escaped = pc.replace_substring(values, "\\", "\\\\")
        escaped = pc.replace_substring(escaped, '"', '\\"')
        if pc.any(pc.match_substring_regex(escaped, "[\\x00-\\x1f]")).as_py():
            for code in range(32):
                literal = json.dumps(chr(code))[1:-1]
                escaped = pc.replace_substring(escaped, chr(code), literal)
    return pc.fill_null(pc.binary_join_element_wise('"', escaped, '"', ""), "null")


def row_values_json(table: pa.Table) -> pa.Array | pa.ChunkedArray:
    """Each row as a JSON object of its values as text, e.g. ``{"amount": "12x"}``."""
    if table.num_columns == 0:
        return pa.repeat("{}", table.num_rows)
    pieces: list[object] = []
    for index, field in enumerate(table.schema):
        prefix = "{" if index == 0 else ", "
        pieces.append(prefix + json.dumps(field.name) + ": ")
        pieces.append(json_text(_as_text(table.column(index))))
    pieces.append("}")
    return pc.binary_join_element_wise(*pieces, "")


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        try:
            return pc.cast(column, pa.string())
        except pa.ArrowInvalid:
            return pc.binary_join_element_wise(
                "<", pc.cast(pc.binary_length(column), pa.string()), " bytes>", ""
            )
    if pa.types.is_nested(column.type):
        return pc.cast(pa.repeat("<nested>", len(column)), pa.string())
    return pc.cast(column, pa.string())


class StoreQuarantineWriter:
    """Writes quarantined rows with lineage to ``cf_quarantine`` (never drops them)."""

    def __init__(self, store: Store, contract_hashes: dict[str, str] | None = None) -> None:
        self.store = store
        self.contract_hashes = contract_hashes or {}
        self.rows_written = 0

    def write(self, quarantined: pa.Table, lineage: RowLineage) -> None:
        self.rows_written += self.store.quarantine.add(
            lineage.job_id,
            lineage.parser_name,
            lineage.parser_version,
            lineage.output,
            lineage.contract_hash or self.contract_hashes.get(lineage.output),
            lineage.source_path,
            lineage.source_hash,
            quarantined,
            getattr(lineage, "source_row_unit", POINTER_ROW),  # older lineages count rows
        )
