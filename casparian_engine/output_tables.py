"""The output tables on disk — each ``<parser>/<output>`` folder of Parquet parts — and their
row counts from the parts' footers. A leaf module (pyarrow only, no DuckDB): Home's figure of
tables and rows loads no query engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SOURCE_COLUMN = "_cf_source_hash"
"""The lineage column naming the source each row came from (by its content hash)."""


@dataclass(frozen=True)
class OutputTable:
    """One queryable output: its view name, the parser and output it came from, and its files."""

    name: str
    parser_name: str
    output_name: str
    directory: Path
    file_count: int


def list_output_tables(output_dir: Path) -> list[OutputTable]:
    """Every ``<parser>/<output>`` folder holding at least one committed Parquet file."""
    found: list[tuple[str, str, Path, int]] = []
    if not output_dir.is_dir():
        return []
    for parser_dir in sorted(p for p in output_dir.iterdir() if p.is_dir()):
        if parser_dir.name.startswith("."):
            continue
        for output_path in sorted(p for p in parser_dir.iterdir() if p.is_dir()):
            if output_path.name.startswith("."):
                continue
            files = [f for f in output_path.glob("*.parquet") if not f.name.startswith(".")]
            if files:
                found.append((parser_dir.name, output_path.name, output_path, len(files)))
    output_counts: dict[str, int] = {}
    for _, output_name, _, _ in found:
        output_counts[output_name] = output_counts.get(output_name, 0) + 1
    return [
        OutputTable(
            name=output if output_counts[output] == 1 else f"{parser}__{output}",
            parser_name=parser,
            output_name=output,
            directory=directory,
            file_count=count,
        )
        for parser, output, directory, count in found
    ]


@dataclass(frozen=True)
class TableSummary:
    """An output table with its row count (read from Parquet footers, not by scanning).

    ``file_count`` counts the table's Parquet parts; ``source_count`` the distinct sources its
    rows came from (by lineage hash), or None when no part carries lineage.
    """

    name: str
    parser_name: str
    output_name: str
    file_count: int
    row_count: int
    source_count: int | None = None


def table_rows(output_dir: Path) -> list[tuple[TableSummary, list[str]]]:
    """Every output table with its row count from its parts' footers (no scan), and the parts
    that carry the lineage column (``source_count`` is left None for the caller to count)."""
    import pyarrow.parquet as pq

    found = []
    for table in list_output_tables(output_dir):
        parts = sorted(table.directory.glob("*.parquet"))
        parts = [part for part in parts if not part.name.startswith(".")]
        footers = [pq.read_metadata(part) for part in parts]
        rows = sum(footer.num_rows for footer in footers)
        with_lineage = [
            str(part)
            for part, footer in zip(parts, footers, strict=True)
            if SOURCE_COLUMN in footer.schema.names
        ]
        summary = TableSummary(
            table.name, table.parser_name, table.output_name, table.file_count, rows
        )
        found.append((summary, with_lineage))
    return found
