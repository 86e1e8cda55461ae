"""A Level 2 parser with a contract that also flags rows itself: both kinds of quarantine."""

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from casparian_parser import Parser


class FlagsAndContractParser(Parser):
    name = "flags_and_contract"
    version = "1.0.0"
    outputs = {"orders": "orders.contract.yaml"}

    def parse(self, path):
        options = pcsv.ConvertOptions(column_types={"id": pa.string(), "amount": pa.string()})
        table = pcsv.read_csv(path, convert_options=options)
        flagged = pc.equal(table.column("amount"), "flag")
        errors = pc.if_else(flagged, "flagged by the parser", pa.scalar(None, pa.string()))
        # line numbers counted from the end, so they differ from row positions
        lines = pa.array(range(table.num_rows + 100, 100, -1), pa.int64())
        return table.append_column("_cf_row_error", errors).append_column("_cf_row", lines)
