"""Writing rows a person asked for to a .parquet or .csv file, atomically (Inspect's exports)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import CasparianError

EXPORT_FORMATS = ("parquet", "csv")


class ExportError(CasparianError, ValueError):
    """An export cannot be written where it was asked for; the message says why."""


def check_destination(destination: Path) -> str:
    """The format a destination's name asks for; refuses other names and missing folders."""
    fmt = destination.suffix.lower().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"cannot export to {destination}: the name must end in .parquet or .csv")
    if not destination.parent.is_dir():
        raise ExportError(f"cannot export to {destination}: folder does not exist")
    return fmt


def write_export(batches: Iterable[pa.RecordBatch], schema: pa.Schema, destination: Path) -> int:
    """Write ``batches`` to ``destination`` through a hidden partial file renamed at the end
    (a reader never sees half a file; a failure leaves nothing); returns the rows written."""
    fmt = check_destination(destination)
    staging = destination.with_name(f".{destination.name}.partial")
    writer: pq.ParquetWriter | pacsv.CSVWriter
    writer = (
        pq.ParquetWriter(staging, schema) if fmt == "parquet" else pacsv.CSVWriter(staging, schema)
    )
    written = 0
    try:
        for batch in batches:
            writer.write_batch(batch)
            written += batch.num_rows
    except BaseException:
        writer.close()
        staging.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(staging, destination)
    return written
