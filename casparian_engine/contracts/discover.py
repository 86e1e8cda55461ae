"""Discovery: propose a contract from sample files (dialect sniffing, then typing by elimination).

The dialect is sniffed by ``dialect`` from the first lines of a file. The sample is then read by
Arrow as text, and each column's type is found by elimination: a type survives only if *every*
non-null value parses as it, so one ``31/05/24`` rules out month-first formats, and a lone ``N/A``
among numbers is recorded as a null token instead of turning the column into text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from ..wording import plural
from .casting import FALSE_WORDS, TRUE_WORDS
from .dialect import (
    DELIMITERS,
    SAMPLE_ROWS,
    SNIFF_BYTES,
    SNIFF_LINES,
    Dialect,
    DiscoveryError,
    check_text_file,
    file_encoding,
    header_names,
    read_text_table,
    sniff_dialect,
    sniff_encoding,
    sniff_file,
)
from .model import ColumnSpec, SchemaContract
from .temporal import strptime_strict

if TYPE_CHECKING:
    from .confidence import ColumnConfidence

__all__ = [
    "DELIMITERS",
    "SAMPLE_ROWS",
    "SNIFF_BYTES",
    "SNIFF_LINES",
    "Dialect",
    "Discovery",
    "FileDialect",
    "DiscoveryError",
    "discover",
    "expand_paths",
    "file_encoding",
    "infer_column",
    "infer_contract",
    "read_text_table",
    "sniff_dialect",
    "sniff_encoding",
    "sniff_file",
    "sniff_files",
    "usable_files",
]

SAMPLE_BYTES = 1 << 20  # types are inferred from each file's first MiB (and SAMPLE_ROWS rows)
CHECK_BYTES = 256 << 20  # then checked on at most this much of each file
CHECK_TOTAL_BYTES = 1 << 30  # and of all files together
SAMPLE_FILES = 50  # files whose samples type a contract, at most (taken evenly)
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
TIMESTAMP_FORMATS = tuple(f"{d} {t}" for d in DATE_FORMATS for t in TIME_FORMATS)
HEAD_VALUES = 64  # a format is tried on this many values first: most fail on the first few
# The shapes every value of a kind has; a column failing one skips all of that kind's formats.
_DATE_SHAPE = r"^[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}$"
_TIME_SHAPE = r"^[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?$"
_TIMESTAMP_SHAPE = _DATE_SHAPE[:-1] + " " + _TIME_SHAPE[1:]
_ISO_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
_INT_RE = r"^-?[0-9]{1,18}$"
_LEADING_ZERO_RE = r"^-?0[0-9]+$"
_FLOAT_RE = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_COMMA_DECIMAL_RE = r"^-?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+),[0-9]+$"


@dataclass(frozen=True)
class Discovery:
    """A proposed contract, the dialect it was read with, and the formats still possible."""

    paths: tuple[str, ...]
    dialect: Dialect
    contract: SchemaContract
    rows_sampled: int
    candidate_formats: dict[str, list[str]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    """Files the discovery left out (empty, binary, unreadable), each with the reason."""

    def column_confidences(self) -> tuple[ColumnConfidence, ...]:
        """How far to trust each proposed column (see ``confidence.column_confidences``)."""
        from .confidence import column_confidences

        names = [column.name for column in self.contract.columns]
        return column_confidences(
            names, self.dialect.confidence, self.candidate_formats, self.rows_sampled
        )

    def proposal_text(self) -> str:
        """The YAML a person reviews, with the dialect and open choices as comments on top."""
        lines = [
            f"# Proposed by `casparian schema discover` from {len(self.paths)} "
            f"{plural(len(self.paths), 'file')}, {self.rows_sampled} "
            f"{plural(self.rows_sampled, 'row')} sampled.",
            f"# Dialect: {self.dialect.describe()}",
            f"# Dialect confidence: {self.dialect.confidence:.2f}"
            + (
                f"; runner-up: {self.dialect.runner_up.describe()}"
                if self.dialect.runner_up is not None
                else ""
            ),
        ]
        lines.extend(f"# WARNING (low confidence): {w}" for w in self.warnings)
        lines.extend(f"# Skipped {path}: {reason}" for path, reason in self.skipped)
        for column, formats in self.candidate_formats.items():
            if len(formats) > 1:
                lines.append(f"# Column {column!r} also parses as: {', '.join(formats[1:])}")
        lines.append("# Review, edit, then lock it with `casparian schema approve <this file>`.")
        return "\n".join(lines) + "\n" + self.contract.to_yaml()


def _all(mask: pa.ChunkedArray | pa.Array) -> bool:
    return bool(pc.all(pc.fill_null(mask, False)).as_py())


_BOOL_WORDS = pa.array([w for w in (*TRUE_WORDS, *FALSE_WORDS) if not w.isdigit()])


@dataclass(frozen=True)
class _Facts:
    """What every distinct non-null value of one column is (all or any), from one pass."""

    nullable: bool
    tokens: tuple[str, ...]
    distinct: int
    leading_zero: bool
    boolean: bool
    integer: bool
    decimal: bool
    comma_decimal: bool
    date_shape: bool
    timestamp_shape: bool
    time_shape: bool
    iso_shape: bool


def _column_facts(table: pa.Table) -> tuple[list[_Facts], pa.Table]:
    """Each column's facts, and the distinct non-null values of all columns (``col``, ``value``).

    The columns are stacked into one array and every check is one kernel over the distinct
    values of all of them, grouped by column: the kernel count does not grow with the columns.
    """
    width = table.num_columns
    stacked = _stack(table, list(range(width)))
    is_token = pc.fill_null(pc.is_in(stacked["value"], value_set=pa.array(NULL_TOKENS)), False)
    tokens: dict[int, set[str]] = {}
    for row in stacked.filter(is_token).group_by(["col", "value"]).aggregate([]).to_pylist():
        tokens.setdefault(row["col"], set()).add(row["value"])
    kept = stacked.filter(pc.and_(pc.invert(is_token), pc.is_valid(stacked["value"])))
    distinct = kept.group_by(["col", "value"]).aggregate([])
    values = distinct["value"]
    checks = pa.table(
        {
            "col": distinct["col"],
            "leading_zero": pc.match_substring_regex(values, _LEADING_ZERO_RE),
            "boolean": pc.is_in(pc.utf8_lower(values), value_set=_BOOL_WORDS),
            "integer": pc.match_substring_regex(values, _INT_RE),
            "decimal": pc.match_substring_regex(values, _FLOAT_RE),
            "comma_decimal": pc.match_substring_regex(values, _COMMA_DECIMAL_RE),
            "date_shape": pc.match_substring_regex(values, _DATE_SHAPE),
            "timestamp_shape": pc.match_substring_regex(values, _TIMESTAMP_SHAPE),
            "time_shape": pc.match_substring_regex(values, _TIME_SHAPE),
            "iso_shape": pc.match_substring_regex(values, _ISO_SHAPE),
        }
    )
    names = [n for n in checks.column_names if n != "col"]
    aggregated = checks.group_by("col").aggregate(
        [("leading_zero", "any"), ("col", "count")]
        + [(n, "all") for n in names if n != "leading_zero"]
    )
    per_column = {row["col"]: row for row in aggregated.to_pylist()}
    facts = []
    for index in range(width):
        row = per_column.get(index, {})
        column = table.column(index)
        facts.append(
            _Facts(
                nullable=bool(tokens.get(index)) or column.null_count > 0,
                tokens=tuple(sorted(tokens.get(index, ()))),
                distinct=int(row.get("col_count") or 0),
                leading_zero=bool(row.get("leading_zero_any")),
                **{n: bool(row.get(f"{n}_all")) for n in names if n != "leading_zero"},
            )
        )
    return facts, distinct


def _decide(name: str, facts: _Facts, values: pa.Array) -> tuple[ColumnSpec, list[str]]:
    """The narrowest type every distinct value (``values``) of a column fits."""
    null_values = tuple(t for t in facts.tokens if t != "") or None
    spec_args: dict[str, object] = {"name": name, "nullable": facts.nullable}
    if null_values:
        spec_args["null_values"] = ("", *null_values)

    def spec(type_name: str, **extra: object) -> ColumnSpec:
        return ColumnSpec(type=type_name, **spec_args, **extra)  # type: ignore[arg-type]

    if facts.distinct == 0 or facts.leading_zero:
        return spec("string"), []
    if facts.boolean:
        return spec("bool"), []
    if facts.integer:
        return spec("int64"), []
    if facts.decimal:
        return spec("float64"), []
    if facts.comma_decimal:
        return spec("float64", decimal_comma=True), []
    head = values.slice(0, HEAD_VALUES)
    first = [v for v in values.slice(0, 3).to_pylist() if v]
    for type_name, formats, shaped in (
        ("date", DATE_FORMATS, facts.date_shape),
        ("timestamp(us)", TIMESTAMP_FORMATS, facts.timestamp_shape),
        ("time(us)", TIME_FORMATS, facts.time_shape),
    ):
        if not shaped:
            continue  # no format of this kind can read every value: none is tried
        surviving = [
            f
            for f in formats
            if _reads(first, f)
            and _all(pc.is_valid(strptime_strict(head, f, "us")))
            and _all(pc.is_valid(strptime_strict(values, f, "us")))
        ]
        if surviving:
            chosen = None if surviving[0] == "%Y-%m-%d" and type_name == "date" else surviving[0]
            return spec(type_name, format=chosen), surviving
    if facts.iso_shape:
        try:
            pc.cast(values, pa.timestamp("us"))
            return spec("timestamp(us)"), []
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return spec("string"), []


def _reads(values: list[str], fmt: str) -> bool:
    """Whether Python's strptime reads a few values with ``fmt``: a cheap first sieve before the
    vectorised check (formats failing here are not tried on the whole column)."""
    try:
        for value in values:
            datetime.strptime(value.strip(), fmt)
    except ValueError:
        return False
    return True


def _stack(table: pa.Table, indices: list[int]) -> pa.Table:
    """The columns ``indices`` of ``table`` as one (``col``, ``value``) table of text."""
    chunks = [chunk for i in indices for chunk in table.column(i).cast(pa.string()).chunks]
    ids = [pa.repeat(pa.scalar(i, pa.int32()), table.num_rows) for i in indices]
    return pa.table(
        {
            "col": pa.chunked_array(ids, pa.int32()),
            "value": pa.chunked_array(chunks, pa.string()),
        }
    )


def _failing(stacked: pa.Table, mask: pa.ChunkedArray | pa.Array) -> set[int]:
    """The columns with a value where ``mask`` is false (or null)."""
    bad = pc.invert(pc.fill_null(mask, False))
    return set(pc.unique(pc.filter(stacked["col"], bad)).to_pylist())


def check_whole(
    contract: SchemaContract, candidates: dict[str, list[str]], table: pa.Table
) -> tuple[SchemaContract, dict[str, list[str]], list[str]]:
    """The contract checked against whole files' text (``table``): each type's rule runs once
    over all the columns of that type; a column a later value breaks is inferred again from
    all its values, and said so."""
    columns = list(contract.columns)
    stacked = _stack(table, list(range(len(columns))))
    is_token = pc.fill_null(pc.is_in(stacked["value"], value_set=pa.array(NULL_TOKENS)), False)
    failing = _null_token_failures(columns, stacked.filter(is_token))
    kept = stacked.filter(pc.invert(is_token))
    failing |= _type_rule_failures(columns, kept)
    failing |= _temporal_failures(columns, kept, failing)
    changed: list[str] = []
    for index in sorted(failing):
        spec = columns[index]
        facts, distinct = _column_facts(table.select([index]))
        wider, formats = _decide(spec.name, facts[0], distinct["value"].combine_chunks())
        columns[index] = wider
        candidates = {k: v for k, v in candidates.items() if k != spec.name}
        if formats:
            candidates[spec.name] = formats
        if (wider.type, wider.format) != (spec.type, spec.format):
            changed.append(
                f"column {spec.name!r}: a value past the sample is not {spec.type}; proposed "
                f"{wider.type} from the whole file"
            )
    return SchemaContract(name=contract.name, columns=tuple(columns)), candidates, changed


def _null_token_failures(columns: list[ColumnSpec], tokens_stacked: pa.Table) -> set[int]:
    """The columns whose null-like values (``tokens_stacked``) the contract does not allow: in
    a column that is not nullable, or spellings it does not list."""
    tokens: dict[int, set[str]] = {}
    for row in tokens_stacked.group_by(["col", "value"]).aggregate([]).to_pylist():
        tokens.setdefault(row["col"], set()).add(row["value"])
    return {
        index
        for index, spec in enumerate(columns)
        if (tokens.get(index) and not spec.nullable)
        or not tokens.get(index, set()) - {""} <= set(spec.null_values or ())
    }


def _type_rule_failures(columns: list[ColumnSpec], kept: pa.Table) -> set[int]:
    """The integer, float, comma-decimal and bool columns with a value their type's rule (one
    run over all the columns of that type) refuses, or with a leading zero (numbers)."""
    rules: dict[str, Callable[[pa.ChunkedArray], pa.ChunkedArray]] = {
        "int64": lambda v: pc.match_substring_regex(v, _INT_RE),
        "float64": lambda v: pc.match_substring_regex(v, _FLOAT_RE),
        "decimal_comma": lambda v: pc.match_substring_regex(v, _COMMA_DECIMAL_RE),
        "bool": lambda v: pc.is_in(pc.utf8_lower(v), value_set=_BOOL_WORDS),
    }
    failing: set[int] = set()
    for kind, rule in rules.items():
        indices = [
            i
            for i, spec in enumerate(columns)
            if ("decimal_comma" if spec.decimal_comma else spec.type) == kind
        ]
        if not indices:
            continue
        group = kept.filter(pc.is_in(kept["col"], value_set=pa.array(indices, pa.int32())))
        failing |= _failing(group, rule(group["value"]))
        if kind != "bool":
            failing |= _failing(
                group, pc.invert(pc.match_substring_regex(group["value"], _LEADING_ZERO_RE))
            )
    return failing


def _temporal_failures(columns: list[ColumnSpec], kept: pa.Table, failing: set[int]) -> set[int]:
    """The date and time columns (not already ``failing``) with a value their format does not
    parse: one parse per format over all its columns; ISO text by Arrow's cast per column."""
    temporal: dict[tuple[str, str | None], list[int]] = {}
    for index, spec in enumerate(columns):
        if spec.type not in ("string", "bool", "int64", "float64") and index not in failing:
            fmt = spec.format or ("%Y-%m-%d" if spec.type == "date" else None)
            temporal.setdefault((spec.type, fmt), []).append(index)
    broken: set[int] = set()
    for (_, fmt), indices in temporal.items():
        group = kept.filter(pc.is_in(kept["col"], value_set=pa.array(indices, pa.int32())))
        if fmt is not None:
            broken |= _failing(group, pc.is_valid(strptime_strict(group["value"], fmt, "us")))
            continue
        for index in indices:
            values = group.filter(pc.equal(group["col"], index))["value"]
            try:
                pc.cast(values, pa.timestamp("us"))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                broken.add(index)
    return broken


def _needs_values(facts: _Facts) -> bool:
    """Whether deciding a column's type reads its values (temporal formats to try)."""
    plain = facts.distinct == 0 or facts.leading_zero or facts.boolean
    if plain or facts.integer or facts.decimal or facts.comma_decimal:
        return False
    return facts.date_shape or facts.timestamp_shape or facts.time_shape or facts.iso_shape


def infer_column(name: str, text: pa.ChunkedArray) -> tuple[ColumnSpec, list[str]]:
    """The narrowest type every non-null value fits, and the formats that all still parse."""
    contract, candidates = infer_contract(pa.table({name: text}), name)
    return contract.columns[0], candidates.get(name, [])


def infer_contract(table: pa.Table, name: str) -> tuple[SchemaContract, dict[str, list[str]]]:
    """A contract for a table of text columns, and each column's surviving formats.

    Types are found by elimination over each column's distinct values; the checks shared by all
    columns run as single kernels over all of them (``_column_facts``), and only columns shaped
    like dates or times try formats one by one.
    """
    facts, distinct = _column_facts(table)
    columns = []
    candidates: dict[str, list[str]] = {}
    for index, column_name in enumerate(table.column_names):
        values = pa.array([], pa.string())
        if _needs_values(facts[index]):
            values = distinct.filter(pc.equal(distinct["col"], index))["value"].combine_chunks()
        spec, formats = _decide(column_name, facts[index], values)
        columns.append(spec)
        if formats:
            candidates[column_name] = formats
    return SchemaContract(name=name, columns=tuple(columns)), candidates


def folder_files(folder: Path) -> list[Path]:
    """The delimited-text files (by extension) anywhere inside ``folder``, sorted."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in (".csv", ".tsv", ".txt", ".psv", ".dat")
    )  # fmt: skip


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, and the delimited-text files inside any folder (sorted)."""
    return _usable_files(paths)[0]


def usable_files(paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """``expand_paths``, and the (path, reason) of each file inside a folder left out."""
    return _usable_files(paths)


def _usable_files(paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files as given (an empty or binary one is an error), and the usable delimited-text files
    inside any folder; a folder's empty or binary files come back as (path, reason) skips."""
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            for member in folder_files(path):
                try:
                    check_text_file(member)
                except DiscoveryError as exc:
                    skipped.append((str(member), str(exc).removeprefix(f"{member}: ")))
                    continue
                files.append(member)
        elif path.is_file():
            check_text_file(path)
            files.append(path)
        else:
            raise DiscoveryError(f"{path}: no such file or folder")
    if not files:
        reasons = "".join(f"; skipped {p}: {r}" for p, r in skipped)
        raise DiscoveryError(f"no delimited text files in {', '.join(map(str, paths))}{reasons}")
    return files, skipped


MAX_FILES = 100_000  # files one discovery looks at, at most


@dataclass(frozen=True)
class FileDialect:
    """One file's sniffed dialect (with its confidence and runner-up) and its column names, or
    why it could not be read."""

    path: str
    dialect: Dialect | None
    columns: tuple[str, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "dialect": None if self.dialect is None else self.dialect.to_dict(),
            "columns": list(self.columns),
            "error": self.error,
        }


def sniff_files(
    paths: list[Path], on_file: Callable[[Path], None] | None = None
) -> list[FileDialect]:
    """Each file's dialect and column names, one file at a time in this process (``on_file`` is
    called after each, for a progress bar). A file that cannot be read is listed with the error."""
    found: list[FileDialect] = []
    for path in paths[:MAX_FILES]:
        try:
            dialect = sniff_file(path)
            columns = tuple(header_names(path, dialect))
            found.append(FileDialect(str(path), dialect, columns))
        except (DiscoveryError, OSError, ValueError) as exc:
            found.append(FileDialect(str(path), None, (), str(exc).removeprefix(f"{path}: ")))
        if on_file is not None:
            on_file(path)
    return found


def _head(path: Path, budget: int) -> tuple[bytes | None, int]:
    """The first ``budget`` bytes of a file cut after its last whole line (None: the whole file
    fits the budget), and the file's size."""
    size = path.stat().st_size
    if size <= budget:
        return None, size
    with open(path, "rb") as stream:
        data = stream.read(budget)
    cut = data.rfind(b"\n")
    return (data[: cut + 1] if cut > 0 else data), size


def _read_sample(path: Path, dialect: Dialect, budget: int) -> tuple[pa.Table, bool]:
    """A file's first rows as text (at most ``budget`` bytes and ``SAMPLE_ROWS`` rows), and
    whether that was the whole file."""
    head, _ = _head(path, budget)
    if head is None:
        table = read_text_table(path, dialect, max_rows=None)
        return table.slice(0, SAMPLE_ROWS), table.num_rows <= SAMPLE_ROWS
    try:
        return read_text_table(path, dialect, data=head), False
    except DiscoveryError:  # the cut fell inside a quoted value: read the file itself
        return read_text_table(path, dialect), False


def discover(paths: list[Path], name: str) -> Discovery:
    """Sniff the first file's dialect, read every file's sample with it, and infer one contract.

    Each file keeps its own encoding (one may start with a BOM, the next not); the proposal
    carries warnings when the dialect or the header look doubtful. A file named directly that is
    empty or binary is an error; such files inside a folder are skipped and listed.

    Types are inferred from each file's first ``SAMPLE_BYTES`` (at most ``SAMPLE_ROWS`` rows; of
    at most ``SAMPLE_FILES`` files, taken evenly); files longer than that are then read whole, one
    at a time (up to ``CHECK_BYTES`` each, ``CHECK_TOTAL_BYTES`` in all) and every column checked
    against all their values in one vectorised pass (``check_whole``): a column a later value
    breaks is inferred again from everything read, and the proposal says so.
    """
    from .confidence import discovery_warnings

    files, skipped = _usable_files(paths)
    dialect = sniff_file(files[0])
    tables: list[pa.Table] = []
    longer: list[tuple[Path, Dialect]] = []
    for path in files[:: -(-len(files) // SAMPLE_FILES)]:
        own = replace(dialect, encoding=file_encoding(path))
        table, whole = _read_sample(path, own, SAMPLE_BYTES)
        if tables and table.column_names != tables[0].column_names:
            raise DiscoveryError(
                f"{path}: columns {table.column_names} differ from {files[0]}'s "
                f"{tables[0].column_names}; discover them separately"
            )
        tables.append(table)
        if not whole:
            longer.append((path, own))
    sample = pa.concat_tables(tables)
    contract, candidates = infer_contract(sample, name)
    checked: list[str] = []
    budget = CHECK_TOTAL_BYTES
    for path, own in longer:
        if budget <= 0:
            checked.append(f"{path}: types not checked past its sample (check budget spent)")
            continue
        head, size = _head(path, min(CHECK_BYTES, budget))
        if head is not None:
            checked.append(f"{path}: types checked on its first {len(head):,} of {size:,} bytes")
        budget -= size if head is None else len(head)
        whole_table = read_text_table(path, own, max_rows=None, data=head)
        contract, candidates, changed = check_whole(
            contract, candidates, pa.concat_tables([sample, whole_table])
        )
        checked.extend(changed)
    warnings = (*discovery_warnings(files[0], dialect, sample), *checked)
    return Discovery(
        tuple(str(p) for p in files),
        dialect,
        contract,
        sample.num_rows,
        candidates,
        warnings,
        tuple(skipped),
    )
