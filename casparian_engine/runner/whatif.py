"""``--whatif``: a sink that records what a run would write (schemas, rows, targets), no more."""

from __future__ import annotations

import pyarrow as pa

from ..sinks import Sink, check_same_schema


class WhatIfSink:
    """Wraps the sink a run would use; ``write`` only counts, ``commit`` only reports targets."""

    def __init__(self, real: Sink) -> None:
        self.real = real
        self.uri = real.uri
        self.schemas: dict[str, pa.Schema] = {}
        self.row_counts: dict[str, int] = {}

    def target(self, output: str) -> str:
        return self.real.target(output)

    def exists(self, output: str) -> bool:
        return self.real.exists(output)

    def write(self, output: str, table: pa.Table) -> None:
        expected = self.schemas.setdefault(output, table.schema)
        check_same_schema(output, expected, table.schema)
        self.row_counts[output] = self.row_counts.get(output, 0) + table.num_rows

    def commit(self) -> dict[str, str]:
        return {output: self.real.target(output) for output in self.schemas}

    def abort(self) -> None:
        self.schemas.clear()
