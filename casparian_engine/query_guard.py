"""What an untrusted query may name, and how much of its answer may come back.

``check_sources`` walks DuckDB's own parse tree of a SELECT (``json_serialize_sql``, no regex):
every table it reads must be an output view or one of its own CTEs, every table function must be
on an allow-list, and a few scalar functions that reveal the engine's configuration are refused.
``bound_result`` caps rows, bytes and single values, so one huge cell cannot break the byte budget,
and shows BLOB values as hex text with a note (JSON clients cannot take raw bytes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .errors import CasparianError
from .sql_quoting import quote_identifier

# Table functions a query may call; everything else (duckdb_settings(), pragma_*, read_csv,
# glob, …) is refused before the query runs.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "read_parquet", "parquet_scan"}
)
# Scalar functions that read the engine's configuration or environment.
REFUSED_SCALAR_FUNCTIONS = frozenset({"current_setting", "getvariable", "getenv"})
NAMES_SHOWN = 20  # an error lists at most this many table names
MIN_CELL_CHARS = 64


class SourceRefused(CasparianError, ValueError):
    """The query reads something other than the outputs; the message names it."""


def name_list(names: Sequence[str], empty: str = "none") -> str:
    """Names for an error message, at most ``NAMES_SHOWN`` of them (and how many more)."""
    if not names:
        return empty
    shown = ", ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return f"{shown} and {more:,} more" if more > 0 else shown


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every dict in a parse tree, depth first (an explicit stack: deep queries do not recurse)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def check_sources(con: duckdb.DuckDBPyConnection, statement: str, tables: Sequence[str]) -> None:
    """Refuse a SELECT that reads a table other than ``tables`` or calls a refused function."""
    (row,) = con.execute("SELECT json_serialize_sql(?)", [statement]).fetchall()
    tree = json.loads(row[0]) if row else {"error": True, "error_message": "no parse tree"}
    if tree.get("error"):
        raise SourceRefused(f"the query cannot be checked: {tree.get('error_message', '')}")
    nodes = list(_nodes(tree))
    cte_names = {
        str(entry["key"]).lower()
        for node in nodes
        for entry in (node.get("cte_map") or {}).get("map", [])
        if isinstance(entry, dict) and "key" in entry
    }
    known = {name.lower() for name in tables}
    for node in nodes:
        kind = node.get("type")
        if kind == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            schema = str(node.get("schema_name") or node.get("catalog_name") or "")
            if schema not in ("", "main") or name.lower() not in known | cte_names:
                shown = f"{schema}.{name}" if schema else name
                raise SourceRefused(
                    f"unknown table {shown[:200]!r} (output tables: "
                    f"{name_list(list(tables), 'none yet: process some files first')})"
                )
        elif kind == "TABLE_FUNCTION":
            function = str((node.get("function") or {}).get("function_name", "")).lower()
            if function not in ALLOWED_TABLE_FUNCTIONS:
                allowed = ", ".join(sorted(ALLOWED_TABLE_FUNCTIONS))
                raise SourceRefused(
                    f"table function {function[:200]}() is not allowed (allowed: {allowed})"
                )
        elif node.get("class") == "FUNCTION":
            function = str(node.get("function_name", "")).lower()
            if function in REFUSED_SCALAR_FUNCTIONS:
                raise SourceRefused(f"{function}() is not allowed: it reads the engine's settings")


def hex_blobs(relation: duckdb.DuckDBPyRelation) -> tuple[duckdb.DuckDBPyRelation, list[str]]:
    """The relation with each BLOB column as hex text, and the names of those columns."""
    blob_columns = [
        name for name, kind in zip(relation.columns, relation.types, strict=True) if kind == "BLOB"
    ]
    if not blob_columns:
        return relation, []
    expressions = [
        f"hex({quote_identifier(name)}) AS {quote_identifier(name)}"
        if name in blob_columns
        else quote_identifier(name)
        for name in relation.columns
    ]
    return relation.project(", ".join(expressions)), blob_columns


def _cut_long_text(table: pa.Table, max_chars: int) -> tuple[pa.Table, list[str]]:
    """Text values longer than ``max_chars`` cut to that length; the names of the columns cut."""
    cut: list[str] = []
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            too_long = pc.greater(pc.utf8_length(column), max_chars)
            if pc.any(too_long).as_py():
                column = pc.utf8_slice_codeunits(column, 0, max_chars)
                cut.append(field.name)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema) if cut else table, cut


def bound_result(table: pa.Table, limit: int, byte_budget: int) -> tuple[pa.Table, str]:
    """At most ``limit`` rows and ``byte_budget`` bytes, a single row included; and why it was cut.

    A text value longer than the budget's share per column is cut first (a 5 MB string in one row
    would otherwise pass whole), then rows are halved until the rest fits. A single row that still
    does not fit (a huge list) is left out.
    """
    reasons: list[str] = []
    if table.num_rows > limit:
        table = table.slice(0, limit)
        reasons.append(f"row limit {limit}")
    max_chars = max(MIN_CELL_CHARS, byte_budget // (4 * max(1, table.num_columns)))
    table, cut = _cut_long_text(table, max_chars)
    over_budget = bool(cut)
    while table.num_rows > 1 and table.nbytes > byte_budget:
        table = table.slice(0, table.num_rows // 2)
        over_budget = True
    if table.num_rows == 1 and table.nbytes > byte_budget:
        table = table.slice(0, 0)
        over_budget = True
        reasons.append(
            f"byte budget {byte_budget}: a single row is larger; select fewer or smaller columns"
        )
    elif over_budget:
        reason = f"byte budget {byte_budget}"
        if cut:
            reason += f" (values of {name_list(cut)} cut to {max_chars:,} characters)"
        reasons.append(reason)
    return table, "; ".join(reasons)
