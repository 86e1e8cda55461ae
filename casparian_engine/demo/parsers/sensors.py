"""Sensor exports: semicolon CSV after a one-line preamble, decimal commas, UTC timestamps.

Readings are read as text and converted with pyarrow.compute (``21,5`` -> 21.5); a reading that is
not a number (``N/A``) nulls the cell and marks its row with ``_cf_row_error``. ``_cf_row`` is the
line number in the source file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from casparian_parser import Parser

READING_COLUMNS = ("temperature_c", "humidity_pct", "battery_v")
COLUMN_TYPES = {
    "timestamp": pa.timestamp("us"),
    "sensor_id": pa.string(),
    **{name: pa.string() for name in READING_COLUMNS},
}
DECIMAL_COMMA_NUMBER = r"^-?[0-9]+(,[0-9]+)?$"
OUTPUT_SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("sensor_id", pa.string()),
        *((name, pa.float64()) for name in READING_COLUMNS),
        ("_cf_row_error", pa.string()),
        ("_cf_row", pa.int64()),
    ]
)
PREAMBLE_LINES = 1
HEADER_LINES = 1


class SensorParser(Parser):
    name = "sensors"
    version = "1.0.0"
    tags = ["sensors"]
    patterns = ["sensors/**/*.csv"]
    outputs = {"readings": "sensors.contract.yaml"}

    def parse(self, path: str) -> Iterator[pa.RecordBatch]:
        """Yield one batch of readings per CSV block."""
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=PREAMBLE_LINES, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=";"),
            convert_options=pacsv.ConvertOptions(
                column_types=COLUMN_TYPES,
                include_columns=list(COLUMN_TYPES),
                timestamp_parsers=["%Y-%m-%d %H:%M:%S"],
            ),
        )
        next_line = PREAMBLE_LINES + HEADER_LINES + 1
        for batch in reader:
            yield _readings(batch, next_line)
            next_line += batch.num_rows


def _readings(batch: pa.RecordBatch, first_line: int) -> pa.RecordBatch:
    """Decimal-comma text to float64; the timestamps are UTC as the preamble says."""
    row_count = batch.num_rows
    row_error = pa.nulls(row_count, pa.string())
    arrays: list[pa.Array] = [
        batch.column("timestamp").cast(pa.timestamp("us", tz="UTC")),
        batch.column("sensor_id"),
    ]
    for name in READING_COLUMNS:
        text = pc.utf8_trim_whitespace(batch.column(name))
        is_number = pc.fill_null(pc.match_substring_regex(text, DECIMAL_COMMA_NUMBER), False)
        is_blank = pc.equal(text, "")
        number_text = pc.if_else(is_number, pc.replace_substring(text, ",", "."), None)
        arrays.append(number_text.cast(pa.float64()))
        message = pc.binary_join_element_wise(f"{name} is not a number: '", text, "'", "")
        joined = pc.binary_join_element_wise(row_error, message, "; ")
        is_bad = pc.invert(pc.or_(is_number, is_blank))
        row_error = pc.if_else(is_bad, pc.coalesce(joined, message), row_error)
    ones = pc.fill_null(pa.nulls(row_count, pa.int64()), 1)
    arrays.append(row_error)
    arrays.append(pc.add(pc.cumulative_sum(ones), first_line - 1))
    return pa.RecordBatch.from_arrays(arrays, schema=OUTPUT_SCHEMA)
