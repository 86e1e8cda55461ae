"""How far to trust a discovery: warnings for a doubtful dialect, header or sample.

Sniffing always picks *some* dialect. These checks say when the pick is weak, so a proposal built
on a wrong delimiter or on data taken for a header is flagged instead of silently proposed.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ..wording import plural
from .dialect import CONSISTENT_SHARE, SNIFF_BYTES, SNIFF_LINES, Dialect, read_head

LONG_NAME = 64  # a header cell longer than this is more likely a value than a label


def _record_lengths(path: Path, dialect: Dialect, head: bytes | None) -> list[int]:
    """Field counts of the sniffed lines after the preamble (the header included)."""
    raw = read_head(path) if head is None else head[:SNIFF_BYTES]
    text = raw.decode(dialect.encoding, errors="replace")
    if len(raw) == SNIFF_BYTES:  # the window cut the last line
        text = text[: text.rfind("\n") + 1] or text
    reader = dialect.records(text)
    lengths: list[int] = []
    try:
        for record in reader:
            if record:
                lengths.append(len(record))
            if len(lengths) >= SNIFF_LINES + dialect.preamble_lines:
                break
    except csv.Error:
        pass
    return lengths[dialect.preamble_lines :]


def discovery_warnings(
    path: Path, dialect: Dialect, sample: pa.Table, head: bytes | None = None
) -> tuple[str, ...]:
    """Why a proposal may be wrong (empty when the dialect, header and sample look sound).

    ``head`` is the file's first bytes when the caller has them already.
    """
    warnings: list[str] = []
    if dialect.runner_up_close and dialect.runner_up is not None:
        warnings.append(
            f"{path}: close call between dialects: {dialect.runner_up.describe()} reads the "
            "sample almost as well as the one chosen; check which is right"
        )
    width = sample.num_columns
    lengths = _record_lengths(path, dialect, head)
    if width < 2:
        warnings.append(
            f"{path}: no delimiter splits the lines into several fields consistently; "
            "the file was read as a single column"
        )
    elif lengths:
        consistent = sum(1 for n in lengths if n == width)
        if consistent < CONSISTENT_SHARE * len(lengths):
            warnings.append(
                f"{path}: only {consistent} of {len(lengths)} sampled lines split into "
                f"{width} fields with delimiter {dialect.delimiter!r}; the delimiter or the "
                "quoting is probably wrong"
            )
    if dialect.header:
        for name in sample.column_names:
            if (
                "\n" in name
                or "\r" in name
                or (dialect.quote or '"') in name
                or len(name) > LONG_NAME
            ):
                warnings.append(f"{path}: column name {name!r} looks like data, not a header label")
    if sample.num_rows < 2:
        rows = plural(sample.num_rows, "row")
        warnings.append(f"{path}: only {sample.num_rows} {rows} sampled; the types are guesses")
    return tuple(warnings)


SAMPLE_ROWS_FOR_TYPES = 2
"""Below this many sampled rows a column's type rests on too little to be trusted."""


@dataclass(frozen=True)
class ColumnConfidence:
    """How far to trust one proposed column, in 0..1, and what lowers it ('' when nothing)."""

    name: str
    confidence: float
    note: str = ""


def column_confidences(
    columns: Sequence[str],
    dialect_confidence: float,
    candidate_formats: Mapping[str, Sequence[str]],
    rows_sampled: int,
) -> tuple[ColumnConfidence, ...]:
    """Each column's confidence: the dialect's (every column rests on how the lines were split),
    divided by the number of formats that read all its sampled values (a date that parses as
    day-first and as month-first is a coin toss between them), halved when fewer than
    ``SAMPLE_ROWS_FOR_TYPES`` rows were sampled."""
    found = []
    for name in columns:
        confidence, notes = dialect_confidence, []
        formats = list(candidate_formats.get(name, ()))
        if len(formats) > 1:
            confidence /= len(formats)
            notes.append(f"also parses as {', '.join(formats[1:])}")
        if rows_sampled < SAMPLE_ROWS_FOR_TYPES:
            confidence /= 2
            notes.append(f"only {rows_sampled} {plural(rows_sampled, 'row')} sampled")
        found.append(ColumnConfidence(name, round(confidence, 2), "; ".join(notes)))
    return tuple(found)
