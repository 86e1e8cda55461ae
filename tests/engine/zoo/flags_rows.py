"""A Level 2 parser that flags bad rows itself with _cf_row_error and gives line numbers."""

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from casparian_parser import Output, Parser


class FlaggingParser(Parser):
    name = "flagging"
    version = "1.2.0"
    outputs = {"amounts": None, "notes": None}

    def parse(self, path):
        table = pcsv.read_csv(
            path, convert_options=pcsv.ConvertOptions(column_types={"amount": pa.string()})
        )
        numeric = pc.match_substring_regex(table.column("amount"), r"^-?\d+$")
        errors = pc.if_else(
            numeric,
            pa.scalar(None, pa.string()),
            pc.binary_join_element_wise("not a number: ", table.column("amount"), ""),
        )
        rows = pa.array(range(2, table.num_rows + 2), pa.int64())
        yield Output(
            "amounts", table.append_column("_cf_row_error", errors).append_column("_cf_row", rows)
        )
        yield Output("notes", pa.table({"note": ["parsed " + path.rsplit("/", 1)[-1]]}))
