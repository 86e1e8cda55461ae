"""Legacy ERP account export: fixed-width cp1252 records framed by a header and a trailer.

Record layout (0-based character offsets): ``D`` type (0), account number (1-11), name (11-41),
balance (41-53, right-aligned, two decimals), opened on (53-61, YYYYMMDD), region (61-65). Only
``D`` records are data; a record of the wrong length is marked with ``_cf_row_error`` and keeps its
text in ``name``. The trailer's record count is checked so a truncated export fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from casparian_parser import Parser

RECORD_LENGTH = 65
FIELDS = {  # name: (start, stop)
    "account_number": (1, 11),
    "name": (11, 41),
    "balance": (41, 53),
    "opened_on": (53, 61),
    "region": (61, 65),
}
BALANCE_PATTERN = r"^-?[0-9]{1,9}\.[0-9]{2}$"
OUTPUT_SCHEMA = pa.schema(
    [
        ("account_number", pa.string()),
        ("name", pa.string()),
        ("balance", pa.decimal128(14, 2)),
        ("opened_on", pa.date32()),
        ("region", pa.string()),
        ("_cf_row_error", pa.string()),
        ("_cf_row", pa.int64()),
    ]
)
ENCODING = "cp1252"


class LegacyAccountsParser(Parser):
    name = "legacy_accounts"
    version = "1.0.0"
    tags = ["legacy_accounts"]
    patterns = ["legacy/**/*.TXT"]
    outputs = {"accounts": "legacy_accounts.contract.yaml"}

    def parse(self, path: str) -> Iterator[pa.RecordBatch]:
        """Yield the detail records of each block; check the trailer's count at the end."""
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=["line"], encoding=ENCODING, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(
                delimiter="\x1f",
                quote_char=False,
                double_quote=False,
                escape_char=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={"line": pa.string()},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        detail_count = 0
        trailer_count: int | None = None
        next_line = 1
        for batch in reader:
            lines = batch.column("line")
            line_numbers = _line_numbers(batch.num_rows, next_line)
            next_line += batch.num_rows
            record_types = pc.utf8_slice_codeunits(lines, 0, 1)
            is_detail = pc.equal(record_types, "D")
            trailers = pc.filter(lines, pc.equal(record_types, "T"))
            if len(trailers):
                trailer_count = int(pc.utf8_slice_codeunits(trailers, 1, 10)[0].as_py())
            details = pc.filter(lines, is_detail)
            detail_count += len(details)
            yield _detail_records(details, pc.filter(line_numbers, is_detail))
        if trailer_count is None:
            raise ValueError(f"{path}: no trailer record (a line starting with 'T'); truncated?")
        if trailer_count != detail_count:
            raise ValueError(
                f"{path}: trailer says {trailer_count} detail records, found {detail_count}"
            )


def _line_numbers(row_count: int, first_line: int) -> pa.Array:
    ones = pc.fill_null(pa.nulls(row_count, pa.int64()), 1)
    return pc.add(pc.cumulative_sum(ones), first_line - 1)


def _detail_records(lines: pa.Array, line_numbers: pa.Array) -> pa.RecordBatch:
    """Slice the fixed-width fields and type them; wrong-length records are marked, not dropped."""
    is_whole = pc.equal(pc.utf8_length(lines), RECORD_LENGTH)
    fields = {
        name: pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(lines, start, stop))
        for name, (start, stop) in FIELDS.items()
    }
    balance_ok = pc.and_(is_whole, pc.match_substring_regex(fields["balance"], BALANCE_PATTERN))
    balance = pc.if_else(balance_ok, fields["balance"], None).cast(pa.decimal128(14, 2))
    opened_on = pc.strptime(fields["opened_on"], format="%Y%m%d", unit="s", error_is_null=True)
    opened_ok = pc.and_(is_whole, pc.is_valid(opened_on))
    length_error = pc.binary_join_element_wise(
        "record is ",
        pc.cast(pc.utf8_length(lines), pa.string()),
        f" characters, expected {RECORD_LENGTH}",
        "",
    )
    value_error = pc.if_else(
        balance_ok,
        pc.binary_join_element_wise(
            "opened_on is not a YYYYMMDD date: '", fields["opened_on"], "'", ""
        ),
        pc.binary_join_element_wise("balance is not a number: '", fields["balance"], "'", ""),
    )
    row_error = pc.if_else(
        is_whole, pc.if_else(pc.and_(balance_ok, opened_ok), None, value_error), length_error
    )
    arrays = [
        pc.if_else(is_whole, fields["account_number"], None),
        pc.if_else(is_whole, fields["name"], lines),
        balance,
        pc.if_else(opened_ok, opened_on, None).cast(pa.date32()),
        pc.if_else(is_whole, fields["region"], None),
        row_error,
        line_numbers,
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=OUTPUT_SCHEMA)
