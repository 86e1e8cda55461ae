"""Web-app events: JSON lines with an explicit schema, streamed in batches.

Fields the schema does not name are ignored; optional fields (``duration_ms``, ``query``,
``cart_total``) are null where absent. ``_cf_row`` is the line number in the source file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
from casparian_parser import Parser

EVENT_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("s", tz="UTC")),
        ("user_id", pa.int64()),
        ("session", pa.string()),
        ("event", pa.string()),
        ("path", pa.string()),
        ("duration_ms", pa.int64()),
        ("query", pa.string()),
        ("cart_total", pa.float64()),
    ]
)


class AppEventsParser(Parser):
    name = "app_events"
    version = "1.0.0"
    tags = ["app_events"]
    patterns = ["events/**/*.jsonl"]
    outputs = {"events": "app_events.contract.yaml"}

    def parse(self, path: str) -> Iterator[pa.RecordBatch]:
        """Yield one batch per block of lines, with microsecond UTC timestamps and line numbers."""
        reader = pajson.open_json(
            path,
            parse_options=pajson.ParseOptions(
                explicit_schema=EVENT_SCHEMA, unexpected_field_behavior="ignore"
            ),
        )
        next_line = 1
        for batch in reader:
            row_count = batch.num_rows
            ones = pc.fill_null(pa.nulls(row_count, pa.int64()), 1)
            line_numbers = pc.add(pc.cumulative_sum(ones), next_line - 1)
            next_line += row_count
            columns = [batch.column(name) for name in EVENT_SCHEMA.names]
            columns[0] = columns[0].cast(pa.timestamp("us", tz="UTC"))
            yield pa.RecordBatch.from_arrays(
                [*columns, line_numbers], names=[*EVENT_SCHEMA.names, "_cf_row"]
            )
