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
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ..errors import CasparianError

SNIFF_BYTES = 64 * 1024
SNIFF_LINES = 200
SAMPLE_ROWS = 10_000
DELIMITERS = (",", ";", "\t", "|")
CONSISTENT_SHARE = 0.9  # a delimiter splitting a smaller share of lines into one width is doubtful
MIN_WHITESPACE_ROWS = 3  # rows (after the preamble) a whitespace-delimited table needs
LINE_COLUMN = "\x1f"  # a "delimiter" no text line holds: Arrow reads each line as one value


class DiscoveryError(CasparianError, ValueError):
    """A sample cannot be read as delimited text; the message names the file."""


@dataclass(frozen=True)
class Alternative:
    """The best other way of reading the sample, and its score as a share of the winner's."""

    delimiter: str
    quote: str
    escape: str | None
    relative_score: float

    def describe(self) -> str:
        split = _describe_split(self.delimiter, self.quote, self.escape)
        return f"{split} ({self.relative_score:.0%} of the winner's score)"


def _describe_split(delimiter: str, quote: str, escape: str | None) -> str:
    if not delimiter:
        return "no delimiter (one column)"
    quoting = f"quote {quote!r}" if quote else "no quote character"
    if not quote:
        escaping = "" if escape is None else f", escape {escape!r}"
    else:
        escaping = ", escape doubled quote" if escape is None else f", escape {escape!r}"
    return f"delimiter {delimiter!r}, {quoting}{escaping}"


@dataclass(frozen=True)
class Dialect:
    """How a delimited text file is written.

    ``delimiter`` is ``""`` for a file of one column; ``quote`` is ``""`` when no field in the
    sample is quoted (a later field opening with ``"`` is still read as quoted unless
    ``quote_later`` is False); ``escape`` None means quotes inside quoted fields are doubled.
    """

    encoding: str
    delimiter: str
    quote: str
    escape: str | None
    header: bool
    preamble_lines: int
    whitespace: bool = False
    """Fields are separated by runs of spaces or tabs (leading and trailing ones ignored, quotes
    not special); ``delimiter`` is then ``" "``."""
    confidence: float = 1.0
    """How sure the sniffer is of the delimiter, quote and escape, 0..1."""
    runner_up: Alternative | None = None
    """The best different reading of the sample, when there is one."""
    quote_later: bool = True

    @property
    def runner_up_close(self) -> bool:
        """Whether the runner-up scored close enough that a person should choose."""
        from .sniff import CLOSE_RUNNER_UP

        return self.runner_up is not None and self.runner_up.relative_score >= CLOSE_RUNNER_UP

    @property
    def read_quote(self) -> str:
        """The quote character to read the whole file with."""
        if self.whitespace:
            return ""
        return self.quote or ('"' if self.quote_later and self.delimiter else "")

    def describe(self) -> str:
        """The dialect in words, for proposals and error messages."""
        if self.whitespace:
            return (
                f"encoding {self.encoding}, delimiter runs of whitespace, "
                f"header {'yes' if self.header else 'no'}, preamble lines {self.preamble_lines}"
            )
        split = _describe_split(self.delimiter, self.quote, self.escape)
        return (
            f"encoding {self.encoding}, {split}, "
            f"header {'yes' if self.header else 'no'}, preamble lines {self.preamble_lines}"
        )

    def to_dict(self) -> dict[str, object]:
        """The dialect as plain JSON values."""
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "quote": self.quote,
            "read_quote": self.read_quote,
            "escape": self.escape,
            "header": self.header,
            "preamble_lines": self.preamble_lines,
            "whitespace": self.whitespace,
            "confidence": self.confidence,
            "runner_up": None
            if self.runner_up is None
            else {
                "delimiter": self.runner_up.delimiter,
                "quote": self.runner_up.quote,
                "escape": self.runner_up.escape,
                "relative_score": self.runner_up.relative_score,
                "close": self.runner_up_close,
            },
        }

    def records(self, text: str) -> Iterator[list[str]]:
        """The records of ``text`` split with this dialect (lenient: no error on stray quotes)."""
        if self.whitespace:
            return whitespace_records(text)
        return csv_records(text, self.delimiter, self.read_quote, self.escape)


def whitespace_records(text: str) -> Iterator[list[str]]:
    """Each line of ``text`` split on runs of whitespace (a blank line is ``[]``)."""
    return (line.split() for line in text.splitlines())


def csv_records(text: str, delimiter: str, quote: str, escape: str | None) -> Iterator[list[str]]:
    """Python's csv reader over ``text`` with one candidate delimiter, quote and escape
    (``""`` delimiter: each line is one field; ``""`` quote: nothing is quoted)."""
    from .sniff import records

    return records(text, delimiter, quote, escape)


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


def _score(counts: list[int]) -> tuple[float, int, int]:
    """(score, fields per record, preamble records) for the whitespace split's line lengths."""
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
    consistency = sum(1 for c in body if c == width) / len(counts)
    return consistency * (1 + math.log(width)) * min(1.0, len(body) / 3), width, preamble


def whole_lines(text: str) -> str:
    """``text`` without a last line the sniff window cut (when it is long enough to be cut)."""
    if len(text) >= SNIFF_BYTES // 4 and not text.endswith(("\n", "\r")):
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut > 0:
            return text[: cut + 1]
    return text


def sniff_dialect(text: str, encoding: str) -> Dialect:
    """The delimiter, quote and escape that read the first lines most consistently (see
    ``sniff``), with a confidence and the runner-up, and the header and preamble."""
    from . import sniff

    text = whole_lines(text)
    ranked = sniff.rank_candidates(text)
    best = ranked[0] if ranked else None
    if best is None or best.delimiter in (" ", "") or best.consistency < CONSISTENT_SHARE:
        # Splitting on single spaces makes an empty field of every extra space in a run; runs
        # of whitespace are tried whenever no other delimiter splits the lines evenly.
        spaced = _whitespace_dialect(text, encoding)
        if spaced is not None:
            return spaced
    if best is None:
        return Dialect(encoding, "", "", None, False, 0, confidence=0.0)
    runner = ranked[1] if len(ranked) > 1 else None
    alternative = None
    if runner is not None and best.score > 0:
        relative = round(runner.score / best.score, 3)
        alternative = Alternative(runner.delimiter, runner.quote, runner.escape, relative)
    rows: list[list[str]] = []
    try:
        for record in sniff.records(text, best.delimiter, best.quote, best.escape):
            rows.append(record)
            if len(rows) >= sniff.LAYOUT_RECORDS:
                break
    except csv.Error:
        pass
    found = sniff.layout(rows, best.delimiter)
    quote_later = bool(best.quote) or not re.search(
        rf'(?:^|{re.escape(best.delimiter or chr(10))})[ ]*"', text, re.MULTILINE
    )
    return Dialect(
        encoding,
        best.delimiter,
        best.quote,
        best.escape,
        found.header,
        found.preamble,
        confidence=sniff.confidence(best, runner),
        runner_up=alternative,
        quote_later=quote_later,
    )


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
    # Quotes are not special between runs of whitespace: no quote character.
    return Dialect(encoding, " ", "", None, _has_header(body), preamble, whitespace=True)


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
    names = _column_names(raw.decode(dialect.encoding, errors="replace"), dialect)
    if _header_only(raw, dialect):
        return pa.table({name: pa.array([], pa.string()) for name in names})
    if dialect.whitespace:
        table = _read_spaced(path, dialect, names, data)
        return table.slice(0, max_rows) if max_rows is not None else table
    read_options = pcsv.ReadOptions(
        column_names=names,
        skip_rows=dialect.preamble_lines + (1 if dialect.header else 0),
        encoding=dialect.encoding,
    )
    parse_options = pcsv.ParseOptions(
        delimiter=dialect.delimiter or LINE_COLUMN,
        quote_char=dialect.read_quote or False,
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


def _header_only(raw: bytes, dialect: Dialect) -> bool:
    """Whether a whole (short) file holds nothing below its preamble and header."""
    if len(raw) >= SNIFF_BYTES:
        return False
    text = raw.decode(dialect.encoding, errors="replace")
    skip = dialect.preamble_lines + (1 if dialect.header else 0)
    count = 0
    try:
        for record in dialect.records(text):
            count += 1
            if count > skip and record:
                return False
    except csv.Error:
        return False
    return True


def header_names(path: Path, dialect: Dialect) -> list[str]:
    """The column names ``read_text_table`` gives a file, from its first bytes alone."""
    return _column_names(read_head(path).decode(dialect.encoding, errors="replace"), dialect)


def _column_names(text: str, dialect: Dialect) -> list[str]:
    """The column names: the header's labels fitted to the width of the records below it (a
    header one field short names a trailing empty column or an unnamed first one), else
    ``column_N``."""
    records: list[list[str]] = []
    try:
        for record in dialect.records(text):
            records.append(record)
            if len(records) > dialect.preamble_lines + 60:
                break
    except csv.Error:
        pass
    table = [record for record in records[dialect.preamble_lines :] if record]
    if not table:
        return ["column_1"]
    first = table[0]
    body = table[1:] if dialect.header else table
    counts = Counter(len(record) for record in body)
    width = max(counts, key=lambda w: (counts[w], w)) if counts else len(first)
    if not dialect.header:
        return [f"column_{i + 1}" for i in range(width)]
    labels = [cell.strip() for cell in first]
    labels[0] = labels[0].lstrip("\ufeff")  # a BOM the encoding did not remove
    while len(labels) > width and not labels[-1]:
        labels.pop()
    labels = labels[:width]
    missing = width - len(labels)
    if missing > 0:
        trailing_empty = all(not any(cell.strip() for cell in r[len(labels) :]) for r in body)
        blanks = [""] * missing
        labels = labels + blanks if trailing_empty else blanks + labels
    return _unique_names([label or f"column_{i + 1}" for i, label in enumerate(labels)])


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
