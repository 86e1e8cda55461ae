"""A generic delimited-text parser: reads each file with the dialect ``schema discover`` found.

``plan.json`` beside this file maps each input path to its output name, the discovered dialect and
column names. Every record becomes a row; a record with the wrong number of fields is not dropped
but emitted with ``_cf_row_error`` naming the field counts and quoting its raw text, so it lands
in quarantine with its reason.
"""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
from casparian_parser import Output, Parser

PLAN = json.loads((Path(__file__).parent / "plan.json").read_text(encoding="utf-8"))


class DialectCsv(Parser):
    name = "dialect_csv"
    version = "1.0.0"
    outputs = {
        entry["output"]: f"contracts/{entry['output']}.contract.yaml" for entry in PLAN.values()
    }

    def parse(self, path):
        entry = PLAN[str(path)]
        dialect, names = entry["dialect"], entry["columns"]
        bad_rows = []

        def keep_bad_row(row):
            bad_rows.append(
                f"expected {row.expected_columns} fields, found {row.actual_columns}: {row.text}"
            )
            return "skip"

        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(
                column_names=names,
                skip_rows=dialect["preamble_lines"] + (1 if dialect["header"] else 0),
                encoding=dialect["encoding"],
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=dialect["delimiter"] or "\x1f",
                quote_char=dialect["read_quote"] or False,
                escape_char=dialect["escape"] or False,
                double_quote=dialect["escape"] is None,
                newlines_in_values=True,
                invalid_row_handler=keep_bad_row,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        table = table.append_column("_cf_row_error", pa.nulls(table.num_rows, pa.string()))
        if bad_rows:
            flagged = {name: pa.nulls(len(bad_rows), pa.string()) for name in names}
            flagged["_cf_row_error"] = pa.array(bad_rows, pa.string())
            table = pa.concat_tables([table, pa.table(flagged, schema=table.schema)])
        yield Output(entry["output"], table)
