"""Dialect sniffing: how a delimited text file is written, found from its first lines.

The encoding comes from BOMs and strict decoding; the delimiter, quote and escape are the candidate
that splits the first lines most consistently; preamble lines (titles, ``key=value`` metadata) and
the header row are told apart from the records below them. ``read_text_table`` then reads a file
as text columns with the dialect found, for type inference to work on.

A table whose columns are separated by runs of spaces (``ls -l``, aligned reports and logs) is
taken as whitespace-delimited only when it clearly is one: no single-character delimiter splits
its lines consistently, every sampled line after the preamble splits on whitespace into the same
number of fields (two or more), and the fields are not prose: some column holds numbers or dates
on every row, or every row aligns its columns with runs of two or more spaces.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

SNIFF_BYTES = 64 * 1024
SNIFF_LINES = 200
SAMPLE_ROWS = 10_000
DELIMITERS = (",", ";", "\t", "|")
CONSISTENT_SHARE = 0.9  # a delimiter splitting a smaller share of lines into one width is doubtful
MIN_WHITESPACE_ROWS = 3  # rows (after the preamble) a whitespace-delimited table needs
LINE_COLUMN = "\x1f"  # a "delimiter" no text line holds: Arrow reads each line as one value


class DiscoveryError(ValueError):
    """A sample cannot be read as delimited text; the message names the file."""


@dataclass(frozen=True)
class Dialect:
    """How a delimited text file is written."""

    encoding: str
    delimiter: str
    quote: str
    escape: str | None
    header: bool
    preamble_lines: int
    whitespace: bool = False
    """Fields are separated by runs of spaces or tabs (leading and trailing ones ignored, quotes
    not special); ``delimiter`` is then ``" "``."""

    def describe(self) -> str:
        """The dialect in words, for proposals and error messages."""
        if self.whitespace:
            return (
                f"encoding {self.encoding}, delimiter runs of whitespace, "
                f"header {'yes' if self.header else 'no'}, preamble lines {self.preamble_lines}"
            )
        escape = "doubled quote" if self.escape is None else repr(self.escape)
        return (
            f"encoding {self.encoding}, delimiter {self.delimiter!r}, quote {self.quote!r}, "
            f"escape {escape}, header {'yes' if self.header else 'no'}, "
            f"preamble lines {self.preamble_lines}"
        )

    def records(self, text: str) -> Iterator[list[str]]:
        """The records of ``text`` split with this dialect (lenient: no error on stray quotes)."""
        if self.whitespace:
            return whitespace_records(text)
        return csv_records(text, self.delimiter, self.quote, self.escape)


def whitespace_records(text: str) -> Iterator[list[str]]:
    """Each line of ``text`` split on runs of whitespace (a blank line is ``[]``)."""
    return (line.split() for line in text.splitlines())


def csv_records(text: str, delimiter: str, quote: str, escape: str | None) -> Iterator[list[str]]:
    """Python's csv reader over ``text`` with one candidate delimiter, quote and escape."""
    return csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar=quote,
        escapechar=escape,
        doublequote=escape is None,
        strict=False,
    )


def read_head(path: Path) -> bytes:
    """The first ``SNIFF_BYTES`` of a file: all that sniffing looks at."""
    with open(path, "rb") as stream:
        return stream.read(SNIFF_BYTES)


def sniff_encoding(raw: bytes) -> str:
    """BOMs first, then strict UTF-8 (allowing a cut final character), else Latin-1."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("shift_jis")
        if any(byte >= 0x80 for byte in raw[:4096]) and b"\x82" in raw:
            return "shift_jis"
    except UnicodeDecodeError:
        pass
    return "latin-1"


def _field_counts(text: str, delimiter: str, quote: str, escape: str | None) -> list[int]:
    """Fields per record of the first lines split with one candidate (a cut last line dropped)."""
    reader = csv_records(text, delimiter, quote, escape)
    counts: list[int] = []
    try:
        for record in reader:
            counts.append(len(record))
            if len(counts) >= SNIFF_LINES:
                break
    except csv.Error:
        pass
    if counts and not text.endswith(("\n", "\r")) and len(text) >= SNIFF_BYTES - 4:
        counts.pop()  # the last line was cut by the sniff window
    return counts


def _score(counts: list[int]) -> tuple[float, int, int]:
    """(score, fields per record, preamble records) for one candidate's record lengths."""
    if not counts:
        return 0.0, 0, 0
    tail = counts[len(counts) // 4 :] or counts
    width = Counter(tail).most_common(1)[0][0]
    if width < 2:
        return 0.0, width, 0
    preamble = 0
    while preamble < min(len(counts) - 1, 30) and counts[preamble] != width:
        preamble += 1
    body = counts[preamble:]
    # Preamble lines count against a candidate, so a delimiter that also splits the header wins.
    consistency = sum(1 for c in body if c == width) / len(counts)
    return consistency * (1 + math.log(width)) * min(1.0, len(body) / 3), width, preamble


def sniff_dialect(text: str, encoding: str) -> Dialect:
    """The delimiter/quote/escape that split the first lines most consistently, and the header."""
    escape = "\\" if '\\"' in text or "\\'" in text else None
    quote = "'" if text.count("'") > 2 * text.count('"') + 2 else '"'
    best: tuple[float, str, int, int] = (0.0, ",", 1, 0)
    best_counts: list[int] = []
    for delimiter in (*DELIMITERS, " "):
        if delimiter == " " and best[0] > 0:
            continue
        counts = _field_counts(text, delimiter, quote, escape)
        score, width, preamble = _score(counts)
        if score > best[0]:
            best, best_counts = (score, delimiter, width, preamble), counts
    _, delimiter, width, preamble = best
    # Splitting on single spaces makes an empty field of every extra space in a run; runs of
    # whitespace are tried whenever no other delimiter splits the lines evenly.
    if delimiter == " " or not _splits_consistently(best_counts, width, preamble):
        spaced = _whitespace_dialect(text, encoding)
        if spaced is not None:
            return spaced
    every = list(csv_records(text, delimiter, quote, escape))
    # A line of key=value cells (``device=TH-0001;site=plant-a``) is metadata, not the header,
    # even when it has as many fields as the records below it.
    while preamble < min(len(every) - 2, 30) and _is_metadata(every[preamble]):
        preamble += 1
    records = every[preamble : preamble + 50]
    return Dialect(encoding, delimiter, quote, escape, _has_header(records), preamble)


def _splits_consistently(counts: list[int], width: int, preamble: int) -> bool:
    """Whether a candidate splits the lines after its preamble into one width of 2+ fields."""
    body = counts[preamble:]
    if width < 2 or not body:
        return False
    return sum(1 for c in body if c == width) >= CONSISTENT_SHARE * len(body)


def _whitespace_dialect(text: str, encoding: str) -> Dialect | None:
    """The whitespace-delimited dialect when the sniffed lines clearly form such a table (see
    the module docstring), else None."""
    lines = text.splitlines()[: SNIFF_LINES + 30]
    if lines and not text.endswith(("\n", "\r")) and len(text) >= SNIFF_BYTES - 4:
        lines.pop()  # the last line was cut by the sniff window
    records = [line.split() for line in lines]
    counts = [len(record) for record in records if record]
    if not counts:
        return None
    _, width, preamble = _score(counts)
    body_lines = [line for line in lines if line.strip()][preamble:]
    body = [record for record in records if record][preamble:]
    if width < 2 or len(body) < MIN_WHITESPACE_ROWS or any(len(r) != width for r in body):
        return None
    if any(all(mark in line for line in body_lines) for mark in ",;|"):
        return None  # a delimiter on every line, splitting them unevenly: not clearly spaces
    rows = body[1:]  # the first may be the header
    typed_column = any(all(_looks_typed(row[i]) for row in rows) for i in range(width))
    aligned = all(re.search(r"\S(?: {2,}|\t)\S", line) for line in body_lines)
    if not (typed_column or aligned):
        return None  # words split evenly by chance: prose, not a table
    # Blank lines count as records (``[]``) in the preamble, as the csv reader counts them.
    preamble = next(i for i, record in enumerate(records) if len(record) == width)
    while preamble < min(len(records) - 2, 30) and _is_metadata(records[preamble]):
        preamble += 1
    body = [record for record in records[preamble : preamble + 80] if record][:50]
    return Dialect(encoding, " ", '"', None, _has_header(body), preamble, whitespace=True)


_METADATA_CELL = re.compile(r"^\s*[A-Za-z_][\w .-]{0,40}?\s*(?:=|: )\s*\S")


def _is_metadata(record: list[str]) -> bool:
    """Whether at least half of a line's non-empty cells are ``key=value`` / ``key: value``."""
    cells = [cell for cell in record if cell.strip()]
    matches = sum(1 for cell in cells if _METADATA_CELL.match(cell))
    return bool(cells) and 2 * matches >= len(cells)


def _looks_typed(value: str) -> bool:
    """Whether a cell reads as a number, boolean or date, so it is data rather than a label."""
    stripped = value.strip()
    if not stripped:
        return False
    try:
        float(stripped.replace(",", "."))
        return True
    except ValueError:
        return stripped.lower() in ("true", "false") or (
            len(stripped) >= 8 and stripped[:4].isdigit() and stripped[4] in "-/"
        )


def _has_header(records: list[list[str]]) -> bool:
    """A first row of distinct, non-empty labels above rows that differ from it in kind."""
    if not records:
        return False
    first, rest = records[0], records[1:]
    if any(_looks_typed(v) for v in first) or not any(v.strip() for v in first):
        return False
    if not rest:
        return len(set(first)) == len(first)
    typed_below = any(
        any(_looks_typed(row[i]) for row in rest if i < len(row)) for i in range(len(first))
    )
    labels_repeat = any(
        any(row[i] == first[i] for row in rest if i < len(row)) for i in range(len(first))
    )
    return typed_below or (len(set(first)) == len(first) and not labels_repeat)


def read_text_table(
    path: Path, dialect: Dialect, max_rows: int | None = SAMPLE_ROWS, data: bytes | None = None
) -> pa.Table:
    """The file as a table of strings per the dialect (empty strings kept, bad rows skipped).

    With ``data`` (e.g. the head of a big file) those bytes are read instead of the file.
    """
    import pyarrow.csv as pcsv

    raw = read_head(path) if data is None else data[:SNIFF_BYTES]
    records = list(dialect.records(raw.decode(dialect.encoding, errors="replace")))
    first = next(iter(records[dialect.preamble_lines :]), [])
    if first:  # a BOM the encoding did not remove (a file read with another file's dialect)
        first[0] = first[0].lstrip("\ufeff")
    if dialect.header:
        names = _unique_names([n.strip() or f"column_{i + 1}" for i, n in enumerate(first)])
    else:
        names = [f"column_{i + 1}" for i in range(len(first))]
    if dialect.whitespace:
        table = _read_spaced(path, dialect, names, data)
        return table.slice(0, max_rows) if max_rows is not None else table
    read_options = pcsv.ReadOptions(
        column_names=names,
        skip_rows=dialect.preamble_lines + (1 if dialect.header else 0),
        encoding=dialect.encoding,
    )
    parse_options = pcsv.ParseOptions(
        delimiter=dialect.delimiter,
        quote_char=dialect.quote,
        escape_char=dialect.escape or False,
        double_quote=dialect.escape is None,
        newlines_in_values=True,
        invalid_row_handler=lambda row: "skip",
    )
    convert_options = pcsv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pcsv.read_csv(
            path if data is None else pa.BufferReader(data),
            read_options=read_options, parse_options=parse_options,
            convert_options=convert_options,
        )  # fmt: skip
    except (pa.ArrowInvalid, UnicodeDecodeError, csv.Error) as exc:
        raise DiscoveryError(f"{path}: cannot be read as {dialect.describe()}: {exc}") from None
    return table.slice(0, max_rows) if max_rows is not None else table


def _read_spaced(path: Path, dialect: Dialect, names: list[str], data: bytes | None) -> pa.Table:
    """A whitespace-delimited file as text columns: Arrow reads each line whole, splits it on
    runs of whitespace, and keeps the lines with as many fields as there are names."""
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    read_options = pcsv.ReadOptions(
        column_names=["line"],
        skip_rows=dialect.preamble_lines + (1 if dialect.header else 0),
        encoding=dialect.encoding,
    )
    parse_options = pcsv.ParseOptions(
        delimiter=LINE_COLUMN,
        quote_char=False,
        escape_char=False,
        invalid_row_handler=lambda row: "skip",
    )
    convert_options = pcsv.ConvertOptions(
        column_types={"line": pa.string()}, strings_can_be_null=False
    )
    try:
        lines = pcsv.read_csv(
            path if data is None else pa.BufferReader(data),
            read_options=read_options, parse_options=parse_options,
            convert_options=convert_options,
        ).column("line")  # fmt: skip
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise DiscoveryError(f"{path}: cannot be read as {dialect.describe()}: {exc}") from None
    fields = pc.utf8_split_whitespace(pc.utf8_trim_whitespace(lines))
    fields = pc.filter(fields, pc.equal(pc.list_value_length(fields), len(names)))
    return pa.table(
        [pc.list_element(fields, index) for index in range(len(names))],
        schema=pa.schema([pa.field(name, pa.string()) for name in names]),
    )


def _unique_names(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique


_NOT_CONTROL = bytes(c for c in range(256) if c >= 32 or c in (9, 10, 12, 13, 27))
BINARY_CONTROL_RATIO = 0.10
"""A head with more than this share of control bytes (tab, newlines, form feed, ESC aside) is
binary; so is one with two or more NUL bytes. UTF-16 text (with a BOM) is exempt."""


def looks_binary(raw: bytes, encoding: str) -> bool:
    """Whether a file's head is binary data rather than text (NULs or many control bytes)."""
    if encoding == "utf-16" or not raw:
        return False
    if raw.count(b"\x00") >= 2:
        return True
    return len(raw.translate(None, _NOT_CONTROL)) > BINARY_CONTROL_RATIO * len(raw)


def check_text_file(path: Path) -> None:
    """Raise ``DiscoveryError`` when a file is empty or binary: nothing to discover in it."""
    raw = read_head(path)
    if not raw.strip():
        raise DiscoveryError(f"{path}: the file is empty")
    if looks_binary(raw, sniff_encoding(raw)):
        raise DiscoveryError(f"{path}: looks binary, not delimited text")


def sniff_file(path: Path) -> Dialect:
    """The dialect of one file, sniffed from its first bytes; empty or binary is an error."""
    raw = read_head(path)
    if not raw.strip():
        raise DiscoveryError(f"{path}: the file is empty")
    encoding = sniff_encoding(raw)
    if looks_binary(raw, encoding):
        raise DiscoveryError(f"{path}: looks binary, not delimited text")
    text = raw.decode(encoding, errors="replace")
    return sniff_dialect(text, encoding)


def file_encoding(path: Path) -> str:
    """The encoding of one file, sniffed from its first bytes (BOMs included)."""
    return sniff_encoding(read_head(path))
