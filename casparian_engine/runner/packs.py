"""Vector helpers of the executor for packs (many small files' rows in one frame) and lineage.

A pack's rows carry no file of their own: ``file_index`` gives each row the index of its file from
the pack's per-file row counts, ``back_to_files`` leads rows whose ``_cf_row`` holds their position
in the pack back to their file and line number, ``rows_per_file`` counts them per file and
``packed_lineage`` adds each row's file hash, job id and parser version. The cached arrays
(counting, repeated text) are sliced, never rebuilt per batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..quarantine_rows import ROW_COLUMN

_REPEATED: dict[str, pa.Array] = {}
REPEATED_CACHE_ENTRIES = 8


def repeated_text(value: str, rows: int) -> pa.Array:
    """``value`` repeated ``rows`` times: a zero-copy slice of a cached array when possible.

    Building a fresh repeated string column for every batch of a big file costs more than the
    Parquet write of the batch; the lineage of one file (or one parser version) repeats a lot.
    """
    cached = _REPEATED.get(value)
    if cached is None or len(cached) < rows:
        if len(_REPEATED) >= REPEATED_CACHE_ENTRIES:
            _REPEATED.pop(next(iter(_REPEATED)))
        cached = pa.repeat(value, max(rows, 1024))
        _REPEATED[value] = cached
    return cached.slice(0, rows)


_COUNTING: list[pa.Array] = [pa.array([], pa.int64())]


def counting_from_one(rows: int) -> pa.Array:
    """1, 2, ..., rows as int64: a zero-copy slice of a cached, growing array."""
    cached = _COUNTING[0]
    if len(cached) < rows:
        ones = pa.repeat(pa.scalar(1, pa.int64()), max(rows, 2 * len(cached), 1024))
        cached = pc.cumulative_sum(ones)
        _COUNTING[0] = cached
    return cached.slice(0, rows)


_POSITIONS: list[pa.Array] = [pa.array([], pa.int64())]


def counting_from_zero(rows: int) -> pa.Array:
    """0, 1, ..., rows - 1 as int64: a zero-copy slice of a cached, growing array."""
    cached = _POSITIONS[0]
    if len(cached) < rows:
        cached = pc.subtract(counting_from_one(max(rows, 2 * len(cached), 1024)), 1)
        _POSITIONS[0] = cached
    return cached.slice(0, rows)


def file_index(file_rows: Sequence[int]) -> pa.Array:
    """For each row of a pack, the index of the file it came from (run-end decoded)."""
    nonempty = [index for index, rows in enumerate(file_rows) if rows]
    if not nonempty:
        return pa.array([], pa.int32())
    ends = list(itertools.accumulate(file_rows[index] for index in nonempty))
    runs = pa.RunEndEncodedArray.from_arrays(
        pa.array(ends, pa.int32()), pa.array(nonempty, pa.int32())
    )
    return pc.run_end_decode(runs)


def back_to_files(
    rows: pa.Table, line_numbers: pa.ChunkedArray, files: pa.Array
) -> tuple[pa.Table, pa.Array] | None:
    """Rows whose ``_cf_row`` holds pack positions with their line numbers back, and each row's
    file index; None when the rows lost their ``_cf_row`` column."""
    if ROW_COLUMN not in rows.column_names:
        return None
    at = rows.column_names.index(ROW_COLUMN)
    positions = rows.column(at)
    restored = rows.set_column(at, ROW_COLUMN, pc.take(line_numbers, positions))
    return restored, pc.take(files, positions)


def rows_per_file(files: pa.Array | pa.ChunkedArray, file_count: int) -> list[int]:
    """How many of the rows belong to each file of the pack (files given by index)."""
    counts = [0] * file_count
    if len(files) == 0:
        return counts
    tally = pc.value_counts(files)
    for file_at, rows in zip(
        tally.field("values").to_pylist(), tally.field("counts").to_pylist(), strict=True
    ):
        counts[file_at] = rows
    return counts


def packed_lineage(
    valid: pa.Table,
    source_hashes: Sequence[str],
    job_ids: Sequence[int],
    files: pa.Array,
    parser_version: str,
) -> pa.Table:
    """Lineage columns for rows of a pack (``files``: each row's file index), in the layout of
    one file's lineage: ``_cf_row``, ``_cf_source_hash``, ``_cf_job_id``, ``_cf_parser_version``."""
    rows = valid.num_rows
    data_columns = [name for name in valid.column_names if name != ROW_COLUMN]
    table = valid.select(data_columns)
    table = table.append_column(pa.field(ROW_COLUMN, pa.int64()), valid.column(ROW_COLUMN))
    hashes = pa.array(source_hashes, pa.string())
    table = table.append_column("_cf_source_hash", pc.take(hashes, files))
    distinct_jobs = set(job_ids)
    if len(distinct_jobs) == 1:
        jobs: pa.Array = pa.repeat(pa.scalar(distinct_jobs.pop(), pa.int64()), rows)
    else:
        jobs = pc.take(pa.array(job_ids, pa.int64()), files)
    table = table.append_column(pa.field("_cf_job_id", pa.int64()), jobs)
    return table.append_column("_cf_parser_version", repeated_text(parser_version, rows))
