"""Discovery: propose a contract from sample files (dialect sniffing, then typing by elimination).

The dialect is sniffed by ``dialect`` from the first lines of a file. The sample is then read by
Arrow as text, and each column's type is found by elimination: a type survives only if *every*
non-null value parses as it, so one ``31/05/24`` rules out month-first formats, and a lone ``N/A``
among numbers is recorded as a null token instead of turning the column into text.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

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
    read_text_table,
    sniff_dialect,
    sniff_encoding,
    sniff_file,
)
from .model import ColumnSpec, SchemaContract
from .temporal import strptime_strict

__all__ = [
    "DELIMITERS",
    "SAMPLE_ROWS",
    "SNIFF_BYTES",
    "SNIFF_LINES",
    "Dialect",
    "Discovery",
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
]

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
    """Files inside a given folder left out (empty or binary), each with the reason."""

    def proposal_text(self) -> str:
        """The YAML a person reviews, with the dialect and open choices as comments on top."""
        lines = [
            f"# Proposed by `casparian schema discover` from {len(self.paths)} "
            f"{plural(len(self.paths), 'file')}, {self.rows_sampled} "
            f"{plural(self.rows_sampled, 'row')} sampled.",
            f"# Dialect: {self.dialect.describe()}",
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


def _folder_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in (".csv", ".tsv", ".txt", ".psv", ".dat")
    )  # fmt: skip


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, and the delimited-text files inside any folder (sorted)."""
    return _usable_files(paths)[0]


def _usable_files(paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files as given (an empty or binary one is an error), and the usable delimited-text files
    inside any folder; a folder's empty or binary files come back as (path, reason) skips."""
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            for member in _folder_files(path):
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


def discover(paths: list[Path], name: str) -> Discovery:
    """Sniff the first file's dialect, read every file's sample with it, and infer one contract.

    Each file keeps its own encoding (one may start with a BOM, the next not); the proposal
    carries warnings when the dialect or the header look doubtful. A file named directly that is
    empty or binary is an error; such files inside a folder are skipped and listed.
    """
    from .confidence import discovery_warnings

    files, skipped = _usable_files(paths)
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
        tuple(str(p) for p in files),
        dialect,
        contract,
        sample.num_rows,
        candidates,
        warnings,
        tuple(skipped),
    )
