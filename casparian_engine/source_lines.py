"""Read line N of a source file without loading it: the quarantine view's "source line" pane.

Newlines are counted a megabyte at a time with ``bytes.count`` (C speed), so line 5,000,000 of a
1 GB file costs one sequential read and no Python loop per line.

A quarantined row's ``source_row`` is a true line number only when the parser set ``_cf_row``
(the demo parsers do; ``source_row_unit`` is then "line"); otherwise the executor numbered rows
1..n in output order ("row"), and a header line or a quoted newline makes that position differ
from the line. ``source_pointer`` says which ("line 12" or "row 12"); the line read here is the
line with that number, which is the row itself only for a "line" pointer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import CasparianError

CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 64 * 1024
POINTER_LINE = "line"  # the parser set ``_cf_row``: a line number of the source file
POINTER_ROW = "row"  # the executor numbered the rows: a position among the parser's rows


class SourceLineError(CasparianError, LookupError):
    """The line cannot be shown: the file moved, is unreadable, or is shorter than the pointer."""


@dataclass(frozen=True)
class SourceLine:
    """One line of a source file as text (decoded leniently), and whether it was cut short."""

    path: str
    line_number: int
    text: str
    truncated: bool


def source_pointer(source_row: int | None, unit: str = POINTER_ROW) -> str:
    """How a quarantined row's position is shown: "line N" when the parser gave line numbers,
    "row N" when it is the row's position among the parser's rows, "row ?" when unknown."""
    if source_row is None:
        return "row ?"
    return f"{'line' if unit == POINTER_LINE else 'row'} {source_row}"


def read_source_line(path: str | os.PathLike[str], line_number: int) -> SourceLine:
    """Line ``line_number`` (1-based) of ``path``; ``SourceLineError`` says plainly why not."""
    source = Path(path)
    if line_number < 1:
        raise SourceLineError(f"{source}: line numbers start at 1, got {line_number}")
    try:
        handle = source.open("rb")
    except FileNotFoundError:
        raise SourceLineError(
            f"{source}: the source file is no longer there (moved or deleted since it was "
            "processed); the quarantined values are still kept"
        ) from None
    except OSError as exc:
        raise SourceLineError(f"{source}: cannot read the source file: {exc.strerror}") from None
    with handle:
        lines_before = 0
        while True:
            chunk = handle.read(CHUNK_BYTES)
            if not chunk:
                break
            newlines = chunk.count(b"\n")
            if lines_before + newlines < line_number - 1:
                lines_before += newlines
                continue
            start = 0
            for _ in range(line_number - 1 - lines_before):
                start = chunk.index(b"\n", start) + 1
            return _line_from(source, line_number, handle, chunk[start:])
    raise SourceLineError(
        f"{source}: has only {lines_before + (1 if _ends_without_newline(source) else 0)} lines, "
        f"so line {line_number} is gone (the file changed since it was processed)"
    )


def _line_from(source: Path, line_number: int, handle: BinaryIO, rest: bytes) -> SourceLine:
    """Collect the line that starts at ``rest`` (reading on if it spans chunks), capped in size."""
    collected = rest
    while b"\n" not in collected and len(collected) < MAX_LINE_BYTES:
        more = handle.read(CHUNK_BYTES)
        if not more:
            break
        collected += more
    end = collected.find(b"\n")
    raw = collected if end < 0 else collected[:end]
    if not raw and end < 0:
        raise SourceLineError(
            f"{source}: has only {line_number - 1} lines, so line {line_number} is gone "
            "(the file changed since it was processed)"
        )
    truncated = len(raw) > MAX_LINE_BYTES
    raw = raw[:MAX_LINE_BYTES].rstrip(b"\r")
    return SourceLine(str(source), line_number, raw.decode("utf-8", errors="replace"), truncated)


def _ends_without_newline(source: Path) -> bool:
    """True when the file's last line has no trailing newline (it still counts as a line)."""
    size = source.stat().st_size
    if size == 0:
        return False
    with open(source, "rb") as handle:
        handle.seek(size - 1)
        return handle.read(1) != b"\n"
