"""Discovery: propose a contract from sample files (dialect sniffing, then typing by elimination).

The dialect (encoding, delimiter, quote, escape, header, preamble lines) is sniffed from the first
lines of a file by scoring how consistently each candidate splits them. The sample is then read by
Arrow as text, and each column's type is found by elimination: a type survives only if *every*
non-null value parses as it, so one ``31/05/24`` rules out month-first formats, and a lone ``N/A``
among numbers is recorded as a null token instead of turning the column into text.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .casting import FALSE_WORDS, TRUE_WORDS, strptime_strict
from .model import ColumnSpec, SchemaContract

SNIFF_BYTES = 64 * 1024
SNIFF_LINES = 200
SAMPLE_ROWS = 10_000
DELIMITERS = (",", ";", "\t", "|")
NULL_TOKENS = ("", "NA", "N/A", "n/a", "NULL", "null", "None", "none", "-", "NaN", "nan", "#N/A")
DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d-%m-%y",
    "%m-%d-%y",
    "%d.%m.%Y",
    "%Y/%m/%d",
)
TIME_FORMATS = ("%H:%M:%S", "%H:%M:%S.%f", "%H:%M")
_INT_RE = r"^-?[0-9]{1,18}$"
_LEADING_ZERO_RE = r"^-?0[0-9]+$"
_FLOAT_RE = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_COMMA_DECIMAL_RE = r"^-?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+),[0-9]+$"


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

    def describe(self) -> str:
        escape = "doubled quote" if self.escape is None else repr(self.escape)
        return (
            f"encoding {self.encoding}, delimiter {self.delimiter!r}, quote {self.quote!r}, "
            f"escape {escape}, header {'yes' if self.header else 'no'}, "
            f"preamble lines {self.preamble_lines}"
        )


@dataclass(frozen=True)
class Discovery:
    """A proposed contract, the dialect it was read with, and the formats still possible."""

    paths: tuple[str, ...]
    dialect: Dialect
    contract: SchemaContract
    rows_sampled: int
    candidate_formats: dict[str, list[str]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def proposal_text(self) -> str:
        """The YAML a person reviews, with the dialect and open choices as comments on top."""
        lines = [
            f"# Proposed by `casparian schema discover` from {len(self.paths)} "
            f"{'file' if len(self.paths) == 1 else 'files'}, {self.rows_sampled} "
            f"{'row' if self.rows_sampled == 1 else 'rows'} sampled.",
            f"# Dialect: {self.dialect.describe()}",
        ]
        lines.extend(f"# WARNING (low confidence): {w}" for w in self.warnings)
        for column, formats in self.candidate_formats.items():
            if len(formats) > 1:
                lines.append(f"# Column {column!r} also parses as: {', '.join(formats[1:])}")
        lines.append("# Review, edit, then lock it with `casparian schema approve <this file>`.")
        return "\n".join(lines) + "\n" + self.contract.to_yaml()


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
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar=quote,
        escapechar=escape,
        doublequote=escape is None,
        strict=False,
    )
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
    for delimiter in (*DELIMITERS, " "):
        if delimiter == " " and best[0] > 0:
            continue
        score, width, preamble = _score(_field_counts(text, delimiter, quote, escape))
        if score > best[0]:
            best = (score, delimiter, width, preamble)
    _, delimiter, _width, preamble = best
    every = list(
        csv.reader(
            io.StringIO(text, newline=""),
            delimiter=delimiter,
            quotechar=quote,
            escapechar=escape,
            doublequote=escape is None,
            strict=False,
        )
    )
    # A line of key=value cells (``device=TH-0001;site=plant-a``) is metadata, not the header,
    # even when it has as many fields as the records below it.
    while preamble < min(len(every) - 2, 30) and _is_metadata(every[preamble]):
        preamble += 1
    records = every[preamble : preamble + 50]
    return Dialect(encoding, delimiter, quote, escape, _has_header(records), preamble)


_METADATA_CELL = re.compile(r"^\s*[A-Za-z_][\w .-]{0,40}?\s*(?:=|: )\s*\S")


def _is_metadata(record: list[str]) -> bool:
    """Whether at least half of a line's non-empty cells are ``key=value`` / ``key: value``."""
    cells = [cell for cell in record if cell.strip()]
    matches = sum(1 for cell in cells if _METADATA_CELL.match(cell))
    return bool(cells) and 2 * matches >= len(cells)


def _looks_typed(value: str) -> bool:
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

    if data is None:
        with open(path, "rb") as stream:
            raw = stream.read(SNIFF_BYTES)
    else:
        raw = data[:SNIFF_BYTES]
    head = raw.decode(dialect.encoding, errors="replace")
    records = csv.reader(
        io.StringIO(head, newline=""),
        delimiter=dialect.delimiter,
        quotechar=dialect.quote,
        escapechar=dialect.escape,
        doublequote=dialect.escape is None,
        strict=False,
    )
    first = next(iter(list(records)[dialect.preamble_lines :]), [])
    if first:  # a BOM the encoding did not remove (a file read with another file's dialect)
        first[0] = first[0].lstrip("\ufeff")
    if dialect.header:
        names = _unique_names([n.strip() or f"column_{i + 1}" for i, n in enumerate(first)])
    else:
        names = [f"column_{i + 1}" for i in range(len(first))]
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


def _unique_names(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique


def _all(mask: pa.ChunkedArray | pa.Array) -> bool:
    return bool(pc.all(pc.fill_null(mask, False)).as_py())


def infer_column(name: str, text: pa.ChunkedArray) -> tuple[ColumnSpec, list[str]]:
    """The narrowest type every non-null value fits, and the formats that all still parse."""
    is_token = pc.is_in(text, value_set=pa.array(NULL_TOKENS))
    tokens = sorted(set(pc.unique(pc.filter(text, is_token)).to_pylist()))
    values = pc.filter(text, pc.invert(is_token))
    nullable = bool(tokens) or text.null_count > 0
    null_values = tuple(t for t in tokens if t != "") or None
    spec_args = {"name": name, "nullable": nullable}
    if null_values:
        spec_args["null_values"] = ("", *null_values)
    if len(values) == 0:
        return ColumnSpec(type="string", **spec_args), []  # type: ignore[arg-type]
    if pc.any(pc.match_substring_regex(values, _LEADING_ZERO_RE)).as_py():
        return ColumnSpec(type="string", **spec_args), []  # type: ignore[arg-type]
    lowered = pc.utf8_lower(values)
    words = pa.array([w for w in (*TRUE_WORDS, *FALSE_WORDS) if not w.isdigit()])
    if _all(pc.is_in(lowered, value_set=words)):
        return ColumnSpec(type="bool", **spec_args), []  # type: ignore[arg-type]
    if _all(pc.match_substring_regex(values, _INT_RE)):
        return ColumnSpec(type="int64", **spec_args), []  # type: ignore[arg-type]
    if _all(pc.match_substring_regex(values, _FLOAT_RE)):
        return ColumnSpec(type="float64", **spec_args), []  # type: ignore[arg-type]
    if _all(pc.match_substring_regex(values, _COMMA_DECIMAL_RE)):
        return ColumnSpec(type="float64", decimal_comma=True, **spec_args), []  # type: ignore[arg-type]
    for type_name, formats in (
        ("date", DATE_FORMATS),
        ("timestamp(us)", tuple(f"{d} {t}" for d in DATE_FORMATS for t in TIME_FORMATS)),
        ("time(us)", TIME_FORMATS),
    ):
        surviving = [f for f in formats if _all(pc.is_valid(strptime_strict(values, f, "us")))]
        if surviving:
            chosen = None if surviving[0] == "%Y-%m-%d" and type_name == "date" else surviving[0]
            spec = ColumnSpec(type=type_name, format=chosen, **spec_args)  # type: ignore[arg-type]
            return spec, surviving
    try:
        pc.cast(values, pa.timestamp("us"))
        return ColumnSpec(type="timestamp(us)", **spec_args), []  # type: ignore[arg-type]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    return ColumnSpec(type="string", **spec_args), []  # type: ignore[arg-type]


def infer_contract(table: pa.Table, name: str) -> tuple[SchemaContract, dict[str, list[str]]]:
    """A contract for a table of text columns, and each column's surviving formats."""
    columns = []
    candidates: dict[str, list[str]] = {}
    for column_name in table.column_names:
        spec, formats = infer_column(column_name, table.column(column_name))
        columns.append(spec)
        if formats:
            candidates[column_name] = formats
    return SchemaContract(name=name, columns=tuple(columns)), candidates


def sniff_file(path: Path) -> Dialect:
    with open(path, "rb") as stream:
        raw = stream.read(SNIFF_BYTES)
    if not raw.strip():
        raise DiscoveryError(f"{path}: the file is empty")
    encoding = sniff_encoding(raw)
    text = raw.decode(encoding, errors="replace")
    return sniff_dialect(text, encoding)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, and the delimited-text files inside any folder (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (
                    ".csv", ".tsv", ".txt", ".psv", ".dat"))
            )  # fmt: skip
        elif path.is_file():
            files.append(path)
        else:
            raise DiscoveryError(f"{path}: no such file or folder")
    if not files:
        raise DiscoveryError(f"no delimited text files in {', '.join(map(str, paths))}")
    return files


def file_encoding(path: Path) -> str:
    """The encoding of one file, sniffed from its first bytes (BOMs included)."""
    with open(path, "rb") as stream:
        return sniff_encoding(stream.read(SNIFF_BYTES))


def discover(paths: list[Path], name: str) -> Discovery:
    """Sniff the first file's dialect, read every file's sample with it, and infer one contract.

    Each file keeps its own encoding (one may start with a BOM, the next not); the proposal
    carries warnings when the dialect or the header look doubtful.
    """
    from .confidence import discovery_warnings

    files = expand_paths(paths)
    dialect = sniff_file(files[0])
    tables: list[pa.Table] = []
    for path in files:
        table = read_text_table(path, replace(dialect, encoding=file_encoding(path)))
        if tables and table.column_names != tables[0].column_names:
            raise DiscoveryError(
                f"{path}: columns {table.column_names} differ from {files[0]}'s "
                f"{tables[0].column_names}; discover them separately"
            )
        tables.append(table)
    sample = pa.concat_tables(tables)
    contract, candidates = infer_contract(sample, name)
    warnings = discovery_warnings(files[0], dialect, sample)
    return Discovery(
        tuple(str(p) for p in files), dialect, contract, sample.num_rows, candidates, warnings
    )
