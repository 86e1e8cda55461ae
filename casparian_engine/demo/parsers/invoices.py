"""Invoice line items: comma CSV, one invoice per file, read in typed batches.

Money columns are read as text and converted with pyarrow.compute so one bad value marks its row
(``_cf_row_error``) instead of failing the file; a row with the wrong number of columns becomes an
error row carrying its original text. ``_cf_row`` is the line number in the source file. A small
file is read into memory at once; one above 16 MB is streamed from disk block by block.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from casparian_parser import Parser

COLUMN_TYPES = {
    "invoice_id": pa.string(),
    "issued_on": pa.date32(),
    "customer_id": pa.string(),
    "sku": pa.string(),
    "description": pa.string(),
    "quantity": pa.int64(),
    "unit_price": pa.string(),
    "amount": pa.string(),
    "currency": pa.string(),
}
MONEY_COLUMNS = ("unit_price", "amount")
MONEY_PATTERN = r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$"
MONEY_TYPE = pa.decimal128(12, 2)
OUTPUT_SCHEMA = pa.schema(
    [
        (name, MONEY_TYPE if name in MONEY_COLUMNS else value_type)
        for name, value_type in COLUMN_TYPES.items()
    ]
    + [("_cf_row_error", pa.string()), ("_cf_row", pa.int64())]
)
HEADER_LINES = 1
READ_OPTIONS = pacsv.ReadOptions(use_threads=False)
CONVERT_OPTIONS = pacsv.ConvertOptions(
    column_types=COLUMN_TYPES, include_columns=list(COLUMN_TYPES)
)
STREAM_ABOVE_BYTES = 16 * 1024 * 1024  # bigger files are read block by block from disk


class InvoiceParser(Parser):
    name = "invoices"
    version = "1.0.0"
    tags = ["invoices"]
    patterns = ["invoices/**/*.csv"]
    outputs = {"invoices": "invoices.contract.yaml"}

    def parse(self, path: str) -> Iterator[pa.RecordBatch]:
        """Yield one typed batch per CSV block, then one batch of rows that could not be split."""
        skipped_rows: list[tuple[int, str]] = []

        def keep_bad_row(row: pacsv.InvalidRow) -> str:
            got = f"expected {row.expected_columns} columns, got {row.actual_columns}"
            skipped_rows.append((row.number, f"{got}: {row.text}"))
            return "skip"

        reader = pacsv.open_csv(
            _source(path),
            read_options=READ_OPTIONS,
            parse_options=pacsv.ParseOptions(invalid_row_handler=keep_bad_row),
            convert_options=CONVERT_OPTIONS,
        )
        next_line = HEADER_LINES + 1
        for batch in reader:
            line_numbers, next_line = _line_numbers(batch.num_rows, next_line, skipped_rows)
            yield _typed_batch(batch, line_numbers)
        if skipped_rows:
            yield _unsplittable_rows(skipped_rows)


def _source(path: str) -> str | pa.Buffer:
    """A small file's bytes read at once (the reader's per-file cost is lower on memory), or
    the path of a big one, streamed so memory stays bounded."""
    with open(path, "rb") as stream:
        if os.fstat(stream.fileno()).st_size > STREAM_ABOVE_BYTES:
            return path
        return pa.py_buffer(stream.read())


def _line_numbers(
    row_count: int, first_line: int, skipped_rows: list[tuple[int, str]]
) -> tuple[pa.Array, int]:
    """Source line of each row of a batch, stepping over lines the reader skipped as invalid."""
    lines = _counting(first_line, row_count)
    last_line = first_line + row_count - 1
    for skipped_line, _ in sorted(skipped_rows):
        if first_line <= skipped_line <= last_line:
            lines = pc.if_else(pc.greater_equal(lines, skipped_line), pc.add(lines, 1), lines)
            last_line += 1
    return lines, last_line + 1


_COUNTING = [pa.array([], pa.int64())]


def _counting(first: int, count: int) -> pa.Array:
    """first, first + 1, ... (count values): a slice of a cached array when first is line 2."""
    cached = _COUNTING[0]
    if len(cached) < count:
        ones = pa.repeat(pa.scalar(1, pa.int64()), max(count, 2 * len(cached), 4096))
        cached = pc.add(pc.cumulative_sum(ones), HEADER_LINES)
        _COUNTING[0] = cached
    lines = cached.slice(0, count)
    if first != HEADER_LINES + 1:
        lines = pc.add(lines, first - HEADER_LINES - 1)
    return lines


def _typed_batch(batch: pa.RecordBatch, line_numbers: pa.Array) -> pa.RecordBatch:
    """Convert the money columns; a value that is not a number nulls the cell and marks the row."""
    columns = dict(zip(COLUMN_TYPES, batch.columns, strict=True))  # include_columns order
    row_error: pa.Array | None = None
    for name in MONEY_COLUMNS:
        text = columns[name]
        valid = pc.match_substring_regex(text, MONEY_PATTERN)
        if valid.true_count == len(valid):  # every value is a number: one cast, no messages
            columns[name] = text.cast(MONEY_TYPE)
            continue
        valid = pc.fill_null(valid, False)
        columns[name] = pc.if_else(valid, text, pa.scalar(None, pa.string())).cast(MONEY_TYPE)
        message = _messages_for_bad_values(name, text, pc.invert(valid))
        if row_error is None:
            row_error = message
        else:
            joined = pc.binary_join_element_wise(row_error, message, "; ")
            row_error = pc.if_else(valid, row_error, pc.coalesce(joined, message))
    if row_error is None:
        row_error = pa.nulls(batch.num_rows, pa.string())
    arrays = [*columns.values(), row_error, line_numbers]
    return pa.RecordBatch.from_arrays(arrays, schema=OUTPUT_SCHEMA)


def _messages_for_bad_values(name: str, text: pa.Array, bad: pa.Array) -> pa.Array:
    """The reason for each bad value, null elsewhere (built for the few bad rows only)."""
    bad_text = pc.filter(text, bad)
    reasons = pc.binary_join_element_wise(f"{name} is not a number: '", bad_text, "'", "")
    return pc.replace_with_mask(pa.nulls(len(text), pa.string()), bad, reasons)


def _unsplittable_rows(skipped_rows: list[tuple[int, str]]) -> pa.RecordBatch:
    """Rows with the wrong column count: every value null, the reason and original text kept."""
    row_count = len(skipped_rows)
    arrays = [pa.nulls(row_count, field.type) for field in OUTPUT_SCHEMA][:-2]
    arrays.append(pa.array([reason for _, reason in skipped_rows], pa.string()))
    arrays.append(pa.array([line for line, _ in skipped_rows], pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, schema=OUTPUT_SCHEMA)
