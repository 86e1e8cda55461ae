"""Quoting names and text for SQL (DuckDB, SQLite); a leaf module the catalog and sinks share."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier, so any table or column name is safe in SQL."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a single-quoted SQL string literal (for paths DuckDB takes only as literals)."""
    return "'" + text.replace("'", "''") + "'"
