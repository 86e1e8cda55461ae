"""The source of the parsers the lab drafts without a model, one template per kind of file.

Every template streams the file block by block with pyarrow (memory stays bounded), works on
whole columns with ``pyarrow.compute`` (no Python loop per row), sets ``_cf_row`` to the row's
line in the file, and marks a row it cannot read with ``_cf_row_error`` so it is quarantined
with its reason instead of lost. Values stay text; the contract beside the parser types them.
Constants are written with ``repr`` so any sniffed delimiter, header or regex is a valid literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADER = '''"""@TITLE@

Drafted by Casparian's Parser Lab (@ORIGIN@) from @SOURCES@.
@FACTS@
@HOW@
This file is yours: edit it, then try it again with `casparian lab try`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from casparian_parser import Parser
'''

CLASS = """

class @CLASS@(Parser):
    name = @NAME@
    version = "0.1.0"
    tags = @TAGS@
    patterns = @PATTERNS@
    outputs = {@OUTPUT@: @CONTRACT@}
"""

LINE_READER = '''

def _line_blocks(path: str, skip_lines: int = 0) -> Iterator[tuple[pa.Array, pa.Array]]:
    """Each block of the file's lines as text, with their line numbers (blank lines kept)."""
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            column_names=["line"], skip_rows=skip_lines, encoding=ENCODING, use_threads=False
        ),
        parse_options=pacsv.ParseOptions(
            delimiter="\\x1f", quote_char=False, escape_char=False, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={"line": pa.string()}, strings_can_be_null=False
        ),
    )
    next_line = skip_lines + 1
    for batch in reader:
        count = batch.num_rows
        ones = pa.repeat(pa.scalar(1, pa.int64()), count)
        yield batch.column(0), pc.add(pc.cumulative_sum(ones), next_line - 1)
        next_line += count
'''

DELIMITED = '''
ENCODING = @ENCODING@
DELIMITER = @DELIMITER@
# "": nothing is quoted.
QUOTE = @QUOTE@
# None: a quote inside a quoted value is written twice.
ESCAPE = @ESCAPE@
# Lines above the header (titles, key=value metadata).
PREAMBLE_LINES = @PREAMBLE@
# The header as the samples spell it (None: the files have no header).
HEADER = @HEADER@
# The output's column names (the contract's).
COLUMNS = @COLUMNS@
FIRST_RECORD = PREAMBLE_LINES + (1 if HEADER else 0)  # records before the first data row
HEAD_BYTES = 64 * 1024
@CLASS@
    def parse(self, path: str) -> Iterator[pa.RecordBatch]:
        """Yield each block of rows as text with its line numbers, then the unreadable rows."""
        _check_header(path)
        skipped: list[int] = []  # record numbers the reader left out (1 = the file's first)
        rejected: list[tuple[int, str]] = []

        def reject(row: pacsv.InvalidRow) -> str:
            skipped.append(row.number)
            if row.text.strip():
                got = f"expected {row.expected_columns} fields, got {row.actual_columns}"
                rejected.append((row.number, f"{got}: {row.text[:200]}"))
            return "skip"

        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=COLUMNS, skip_rows=FIRST_RECORD, encoding=ENCODING, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=DELIMITER,
                quote_char=QUOTE or False,
                escape_char=ESCAPE or False,
                double_quote=ESCAPE is None,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=reject,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in COLUMNS},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        next_record = FIRST_RECORD + 1
        extra_lines = 0  # newlines inside quoted values so far: lines are records + these
        for batch in reader:
            records = _record_numbers(next_record, batch.num_rows, skipped)
            if batch.num_rows:
                next_record = records[-1].as_py() + 1
            inside = _newlines_inside(batch)
            before = pc.subtract(pc.cumulative_sum(inside), inside)
            lines = pc.add(pc.add(records, before), extra_lines)
            # A blank line reads as a row of empty values: drop rows with every field empty.
            keep = pc.invert(_all_empty(batch))
            yield _with_row_columns(batch.filter(keep), lines.filter(keep))
            done = [item for item in rejected if item[0] < next_record]
            if done:
                yield _rejected_rows(done, extra_lines, records, inside)
                rejected[:] = [item for item in rejected if item[0] >= next_record]
            extra_lines += pc.sum(inside).as_py() or 0
        if rejected:
            yield _rejected_rows(rejected, extra_lines)


def _check_header(path: str) -> None:
    """Refuse a file whose header is not the samples' (its columns would be misnamed)."""
    if HEADER is None:
        return
    import csv
    import io

    with open(path, "rb") as stream:
        text = stream.read(HEAD_BYTES).decode(ENCODING, errors="replace").lstrip("\\ufeff")
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=DELIMITER,
        quotechar=QUOTE or None,
        quoting=csv.QUOTE_MINIMAL if QUOTE else csv.QUOTE_NONE,
        escapechar=ESCAPE,
        doublequote=ESCAPE is None,
        strict=False,
    )
    found: list[str] = []
    for index, record in enumerate(reader):
        if index == PREAMBLE_LINES:
            found = [cell.strip() for cell in record]
            break
    if found != [cell.strip() for cell in HEADER]:
        raise ValueError(
            f"{path}: header {found} is not the samples' {HEADER}; this parser reads files "
            "of the samples' shape (draft another for this one)"
        )


def _record_numbers(first: int, count: int, skipped: list[int]) -> pa.Array:
    """The record numbers of a block's rows: from ``first`` on, stepping over skipped ones."""
    ones = pa.repeat(pa.scalar(1, pa.int64()), count + len(skipped))
    candidates = pc.add(pc.cumulative_sum(ones), first - 1)
    if skipped:
        candidates = candidates.filter(
            pc.invert(pc.is_in(candidates, value_set=pa.array(skipped, pa.int64())))
        )
    return candidates.slice(0, count)


def _newlines_inside(batch: pa.RecordBatch) -> pa.Array:
    """How many newlines each row's quoted values hold (0 for most rows)."""
    total = pa.repeat(pa.scalar(0, pa.int64()), batch.num_rows)
    for column in batch.columns:
        total = pc.add(total, pc.count_substring(column, "\\n").cast(pa.int64()))
    return total


def _all_empty(batch: pa.RecordBatch) -> pa.Array:
    empty = pa.repeat(pa.scalar(True), batch.num_rows)
    for column in batch.columns:
        empty = pc.and_(empty, pc.equal(column, ""))
    return empty


def _with_row_columns(batch: pa.RecordBatch, lines: pa.Array) -> pa.RecordBatch:
    errors = pa.nulls(batch.num_rows, pa.string())
    return pa.RecordBatch.from_arrays(
        [*batch.columns, errors, lines], names=[*COLUMNS, "_cf_row_error", "_cf_row"]
    )


def _rejected_rows(
    rejected: list[tuple[int, str]],
    extra_lines: int,
    records: pa.Array | None = None,
    inside: pa.Array | None = None,
) -> pa.RecordBatch:
    """Rows the reader could not split: every value null, the reason and the text kept.

    A row's line is its record number plus the newlines inside quoted values above it (those
    of earlier blocks, ``extra_lines``, and of the rows of its own block before it).
    """
    count = len(rejected)
    lines = []
    for number, _ in rejected:
        above = extra_lines
        if records is not None and inside is not None and len(records):
            above += pc.sum(inside.filter(pc.less(records, number))).as_py() or 0
        lines.append(number + above)
    arrays = [pa.nulls(count, pa.string()) for _ in COLUMNS]
    arrays.append(pa.array([reason for _, reason in rejected], pa.string()))
    arrays.append(pa.array(lines, pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, names=[*COLUMNS, "_cf_row_error", "_cf_row"])
'''

WHITESPACE = '''
ENCODING = @ENCODING@
SKIP_LINES = @SKIP@  # preamble and header lines
COLUMNS = @COLUMNS@
@CLASS@
    def parse(self, path: str) -> Iterator[pa.RecordBatch]:
        """Split each line on runs of spaces; a line with another field count is an error row."""
        for lines, numbers in _line_blocks(path, SKIP_LINES):
            keep = pc.not_equal(pc.utf8_trim_whitespace(lines), "")
            lines, numbers = lines.filter(keep), numbers.filter(keep)
            fields = pc.utf8_split_whitespace(pc.utf8_trim_whitespace(lines))
            fits = pc.equal(pc.list_value_length(fields), len(COLUMNS))
            padded = pc.if_else(fits, fields, pa.scalar([None] * len(COLUMNS), fields.type))
            columns = [pc.list_element(padded, index) for index in range(len(COLUMNS))]
            reason = pc.binary_join_element_wise(
                f"expected {len(COLUMNS)} fields: ", pc.utf8_slice_codeunits(lines, 0, 200), ""
            )
            errors = pc.if_else(fits, pa.scalar(None, pa.string()), reason)
            yield pa.RecordBatch.from_arrays(
                [*columns, errors, numbers], names=[*COLUMNS, "_cf_row_error", "_cf_row"]
            )
'''

LOG_PATTERN = '''
ENCODING = @ENCODING@
LINE_PATTERN = @REGEX@
# The pattern's named groups, in order.
COLUMNS = @COLUMNS@
@CLASS@
    def parse(self, path: str) -> Iterator[pa.RecordBatch]:
        """Match every line against LINE_PATTERN; a line that does not match is an error row."""
        for lines, numbers in _line_blocks(path):
            keep = pc.not_equal(pc.utf8_trim_whitespace(lines), "")
            lines, numbers = lines.filter(keep), numbers.filter(keep)
            parts = pc.extract_regex(lines, LINE_PATTERN)
            matched = pc.is_valid(parts)
            columns = [pc.struct_field(parts, name) for name in COLUMNS]
            reason = pc.binary_join_element_wise(
                "line does not match LINE_PATTERN: ", pc.utf8_slice_codeunits(lines, 0, 200), ""
            )
            errors = pc.if_else(matched, pa.scalar(None, pa.string()), reason)
            yield pa.RecordBatch.from_arrays(
                [*columns, errors, numbers], names=[*COLUMNS, "_cf_row_error", "_cf_row"]
            )
'''

KEY_VALUE = '''
ENCODING = @ENCODING@
# (column, regex finding the key's value), in order of first appearance in the samples.
KEYS = @KEYS@
@CLASS@
    def parse(self, path: str) -> Iterator[pa.RecordBatch]:
        """One column per key: its value (quotes removed), null where a line lacks the key."""
        for lines, numbers in _line_blocks(path):
            keep = pc.not_equal(pc.utf8_trim_whitespace(lines), "")
            lines, numbers = lines.filter(keep), numbers.filter(keep)
            columns = []
            found_any = pa.repeat(pa.scalar(False), len(lines))
            for _, pattern in KEYS:
                parts = pc.extract_regex(lines, pattern)
                found = pc.is_valid(parts)
                found_any = pc.or_(found_any, found)
                quoted, bare = pc.struct_field(parts, "q"), pc.struct_field(parts, "v")
                value = pc.binary_join_element_wise(quoted, bare, "")
                columns.append(pc.if_else(found, value, pa.scalar(None, pa.string())))
            reason = pc.binary_join_element_wise(
                "no key=value pair on this line: ", pc.utf8_slice_codeunits(lines, 0, 200), ""
            )
            errors = pc.if_else(found_any, pa.scalar(None, pa.string()), reason)
            names = [name for name, _ in KEYS]
            yield pa.RecordBatch.from_arrays(
                [*columns, errors, numbers], names=[*names, "_cf_row_error", "_cf_row"]
            )
'''

JSON_LINES = '''
import pyarrow.json as pajson

SCHEMA = pa.schema(
    [
@FIELDS@
    ]
)  # fields of the samples' objects; other fields are ignored, missing ones are null
@CLASS@
    def parse(self, path: str) -> Iterator[pa.RecordBatch]:
        """Read the objects block by block with the samples' schema."""
        reader = pajson.open_json(
            path,
            parse_options=pajson.ParseOptions(
                explicit_schema=SCHEMA, unexpected_field_behavior="ignore"
            ),
        )
        for batch in reader:
            yield pa.RecordBatch.from_arrays(
                [batch.column(name) for name in SCHEMA.names], schema=SCHEMA
            )
'''

SKELETON = '''
ENCODING = @ENCODING@
@CLASS@
    def parse(self, path: str) -> Iterator[pa.RecordBatch]:
        """One row per line, as it is: the lab found no table or line pattern in the samples.

        Split ``line`` into columns here (pc.extract_regex, pc.split_pattern, ...) and add them
        to the contract beside this file.
        """
        for lines, numbers in _line_blocks(path):
            yield pa.RecordBatch.from_arrays([lines, numbers], names=["line", "_cf_row"])
'''


@dataclass(frozen=True)
class ParserText:
    """What every template shares: names, where the samples came from, the facts in words."""

    class_name: str
    name: str
    output: str
    contract_file: str
    tags: list[str]
    patterns: list[str]
    title: str
    origin: str
    sources: str
    facts: list[str]
    how: str


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"@([A-Z]+)@", lambda m: values[m.group(1)], template)


def _wrap(text: str, width: int = 96) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def render(common: ParserText, body: str, values: dict[str, str], lines: bool) -> str:
    """A whole parser file: docstring, imports, the body's constants and class, helpers."""
    facts = "\n".join(
        line for fact in common.facts for line in _wrap(f"- {fact}".replace('"""', "'''"))
    )
    header = _fill(
        HEADER,
        {
            "TITLE": common.title.replace('"""', "'''"),
            "ORIGIN": common.origin,
            "SOURCES": common.sources,
            "FACTS": f"\nWhat discovery found:\n{facts}\n" if facts else "",
            "HOW": "\n".join(_wrap(common.how)),
        },
    )
    class_text = _fill(
        CLASS,
        {
            "CLASS": common.class_name,
            "NAME": repr(common.name),
            "TAGS": repr(common.tags),
            "PATTERNS": repr(common.patterns),
            "OUTPUT": repr(common.output),
            "CONTRACT": repr(common.contract_file),
        },
    )
    text = header + _fill(body, {**values, "CLASS": class_text.rstrip("\n")})
    if lines:
        text += LINE_READER
    return text
