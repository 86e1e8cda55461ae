"""The reserved row columns and the columns of every table of quarantined rows.

A leaf module (pyarrow only), so contract validation and the executor share one definition
without either importing the other's package.
"""

from __future__ import annotations

import pyarrow as pa

ROW_COLUMN = "_cf_row"  # the row's line number in its source file
ROW_ERROR_COLUMN = "_cf_row_error"  # set by a parser to quarantine the row itself
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field(ROW_COLUMN, pa.int64()),
        pa.field("rules", pa.string(), nullable=False),
        pa.field("violations", pa.string(), nullable=False),
        pa.field("row_values", pa.string(), nullable=False),
    ]
)
