"""``casparian preview``: what a file is (format, dialect), a schema guess and its first rows.

Reads only the head of a file (``HEAD_BYTES``), so previewing a 10 GB file is as quick as a small
one. Binary files get a hex view.
"""

from __future__ import annotations

import csv
import json
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..contracts.model import ColumnSpec

HEAD_BYTES = 256 * 1024
HEX_BYTES = 256
GZIP_MAGIC = b"\x1f\x8b"
GZIP_READ_LIMIT = 16 * 1024 * 1024
"""Most compressed bytes read to fill a gzip preview's head (a bound on slow streams)."""
TEXT_SUFFIXES = {".txt", ".log", ".md", ".ini", ".cfg"}


@dataclass(frozen=True)
class FilePreview:
    """A file's detected format, dialect, schema guess and first rows (or hex lines)."""

    path: str
    format: str
    size_bytes: int
    dialect: dict[str, Any] = field(default_factory=dict)
    schema: list[tuple[str, str]] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    hex_lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hex_view(data: bytes) -> list[str]:
    lines = []
    for offset in range(0, min(len(data), HEX_BYTES), 16):
        chunk = data[offset : offset + 16]
        hex_part = " ".join(f"{byte:02x}" for byte in chunk)
        text_part = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        lines.append(f"{offset:08x}  {hex_part:<47}  {text_part}")
    return lines


def _decode(head: bytes) -> tuple[str | None, str]:
    """The head as text and its encoding, or None when it looks binary."""
    if b"\x00" in head[:8192] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, ""
    for encoding in (
        ("utf-8-sig", "utf-16")
        if head.startswith((b"\xff\xfe", b"\xfe\xff"))
        else (
            "utf-8-sig",
            "cp1252",
        )
    ):
        try:
            return head.decode(encoding), encoding
        except UnicodeDecodeError:
            # a multi-byte character cut at the end of the head is not a decoding problem
            try:
                return head[:-3].decode(encoding), encoding
            except UnicodeDecodeError:
                continue
    return None, ""


def _table_preview(table: Any, rows: int) -> tuple[list[tuple[str, str]], list[list[Any]]]:
    head = table.slice(0, rows)
    schema = [(f.name, str(f.type)) for f in head.schema]
    columns = [column.to_pylist() for column in head.columns]
    return schema, [list(values) for values in zip(*columns, strict=True)]


def _gunzip_head(path: Path) -> tuple[bytes, bool, str]:
    """The first ``HEAD_BYTES`` of a gzip file's contents, whether there is more, and a note;
    a damaged or cut-off stream gives what decompressed before the damage (the note says so).
    At most ``GZIP_READ_LIMIT`` compressed bytes are read, whatever the ratio."""
    inflater = zlib.decompressobj(wbits=31)  # gzip header and trailer
    out = bytearray()
    read = 0
    problem = ""
    with open(path, "rb") as stream:
        while len(out) <= HEAD_BYTES and read < GZIP_READ_LIMIT:
            chunk = stream.read(64 * 1024)
            if not chunk:
                problem = f"the gzip stream ends early (cut off?) after {len(out):,} bytes"
                break
            read += len(chunk)
            try:
                out += inflater.decompress(chunk, HEAD_BYTES + 1 - len(out))
            except zlib.error as exc:
                problem = f"the gzip stream is damaged after {len(out):,} bytes ({exc})"
                break
            if inflater.eof:
                break
    more = len(out) > HEAD_BYTES or (not inflater.eof and not problem)
    shown = min(len(out), HEAD_BYTES)
    whole = f"gzip: decompressed ({shown:,} bytes)"
    note = problem or (f"gzip: showing the decompressed start ({shown:,} bytes)" if more else whole)
    return bytes(out[:HEAD_BYTES]), more, note


def preview_file(path: Path, rows: int = 10) -> FilePreview:
    """Preview ``path`` (a gzip file by its decompressed start); raises ``OSError`` if it
    cannot be read."""
    size = path.stat().st_size
    if size == 0:
        return FilePreview(str(path), "empty", 0, notes=["the file is empty"])
    with open(path, "rb") as stream:
        head = stream.read(HEAD_BYTES)
    truncated = size > len(head)
    if head.startswith(GZIP_MAGIC):
        head, truncated, note = _gunzip_head(path)
        if not head:
            note = note if "stream" in note else "the gzip file holds an empty file"
            return FilePreview(str(path), "empty (gzip)", size, notes=[note])
        inner = _preview_head(path, head, size, truncated, rows, Path(path.stem).suffix)
        return replace(inner, format=f"{inner.format} (gzip)", notes=[note, *inner.notes])
    return _preview_head(path, head, size, truncated, rows)


def _preview_head(
    path: Path, head: bytes, size: int, truncated: bool, rows: int, inner_suffix: str | None = None
) -> FilePreview:
    """Preview a file from its first bytes (``truncated``: the file goes on); ``inner_suffix``
    is a compressed file's own suffix ('.csv' of 'a.csv.gz'), whose head was decompressed."""
    if head.startswith(b"PAR1") and inner_suffix is None:
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as parquet:
            schema, first = _table_preview(
                parquet.read_row_group(0)
                if parquet.num_row_groups
                else parquet.schema_arrow.empty_table(),
                rows,
            )
            row_count = parquet.metadata.num_rows
        return FilePreview(str(path), "parquet", size, {"rows": row_count}, schema, first)
    text, encoding = _decode(head)
    if text is None:
        return FilePreview(str(path), "binary", size, hex_lines=_hex_view(head))
    if truncated and "\n" in text:
        text = text[: text.rfind("\n") + 1]
    stripped = text.lstrip()
    suffix = (path.suffix if inner_suffix is None else inner_suffix).lower()
    if suffix in (".json", ".jsonl", ".ndjson") or stripped.startswith(("{", "[")):
        preview = _json_preview(path, text, encoding, size, rows)
        if preview is not None:
            return preview
    error = None
    # A .txt or .log file shows its lines, unless they clearly form a whitespace-delimited table.
    spaced_only = suffix in TEXT_SUFFIXES
    from ..contracts.dialect import DiscoveryError

    try:
        preview = _delimited_preview(path, head, size, rows, truncated, spaced_only)
    except (DiscoveryError, ValueError, csv.Error) as exc:
        if not spaced_only:
            # What can be shown still is: the raw first lines, with the reason beside them.
            error = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        preview = None
    if preview is not None:
        return preview
    lines = text.splitlines()[:rows]
    notes = []
    if error is None and suffix in (".csv", ".tsv", ".psv"):
        notes.append(f"{path}: no delimiter splits the lines into fields; showing the raw lines")
    return FilePreview(
        str(path),
        "text",
        size,
        {"encoding": encoding},
        [("line", "string")],
        [[line] for line in lines],
        notes=notes,
        error=error,
    )


def _json_preview(path: Path, text: str, encoding: str, size: int, rows: int) -> FilePreview | None:
    import pyarrow as pa

    lines = [line for line in text.splitlines() if line.strip()]
    try:
        records = [json.loads(line) for line in lines[: rows * 10]]
        form = "jsonl"
        if len(records) == 1 and isinstance(records[0], list):
            records, form = records[0], "json"
    except ValueError:
        try:
            document = json.loads(text)
        except ValueError:
            return None
        records = document if isinstance(document, list) else [document]
        form = "json"
    dialect = {"encoding": encoding}
    objects = [r for r in records if isinstance(r, dict)]
    as_json_values = [("value", "json")]
    if not objects:
        values = [[json.dumps(r)] for r in records[:rows]]
        return FilePreview(str(path), form, size, dialect, as_json_values, values)
    try:
        table = pa.Table.from_pylist(objects[: rows * 10])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        values = [[json.dumps(r)] for r in objects[:rows]]
        notes = ["objects have mixed types; shown as JSON"]
        return FilePreview(str(path), form, size, dialect, as_json_values, values, notes=notes)
    schema, first = _table_preview(table, rows)
    return FilePreview(str(path), form, size, dialect, schema, first)


def _column_label(spec: ColumnSpec) -> str:
    """A proposed column type as discovery states it: ``float64 (decimal comma)``, formats."""
    extras = []
    if spec.decimal_comma:
        extras.append("decimal comma")
    if spec.format:
        extras.append(f"format {spec.format}")
    return spec.type + (f" ({', '.join(extras)})" if extras else "")


def _delimited_preview(
    path: Path, head: bytes, size: int, rows: int, truncated: bool, spaced_only: bool = False
) -> FilePreview | None:
    """The discovery engine's dialect and types for the head of a delimited file.

    Sniffing and inference are ``casparian schema discover``'s, so preview and discover agree
    (preambles, decimal commas, date formats). Low-confidence findings become notes. With
    ``spaced_only`` only a whitespace-delimited table is previewed (None otherwise).
    """
    from ..contracts.confidence import discovery_warnings
    from ..contracts.dialect import read_text_table, sniff_dialect, sniff_encoding
    from ..contracts.discover import infer_contract

    encoding = sniff_encoding(head)
    dialect = sniff_dialect(head.decode(encoding, errors="replace"), encoding)
    if spaced_only and not dialect.whitespace:
        return None
    body = head[: head.rfind(b"\n") + 1] if truncated and b"\n" in head else head
    table = read_text_table(path, dialect, max_rows=None, data=body)
    if table.num_columns < 2:  # no delimiter: the raw lines say more than one odd column
        return None
    contract, _ = infer_contract(table, path.stem)
    notes = list(discovery_warnings(path, dialect, table, head))
    if truncated:
        notes.append(f"types guessed from the first {len(body):,} bytes ({table.num_rows} rows)")
    name = "tsv" if dialect.delimiter == "\t" else "csv"
    if dialect.whitespace:
        name = "whitespace-delimited"
    details: dict[str, Any] = {
        "delimiter": "whitespace" if dialect.whitespace else dialect.delimiter,
        "quotechar": dialect.quote,
        "header": dialect.header,
        "preamble_lines": dialect.preamble_lines,
        "encoding": dialect.encoding,
        "confidence": dialect.confidence,
    }
    if dialect.whitespace:  # quotes are not special between runs of spaces; no ranking made
        del details["quotechar"], details["confidence"]
    schema = [(spec.name, _column_label(spec)) for spec in contract.columns]
    _, first = _table_preview(table, rows)
    return FilePreview(str(path), name, size, details, schema, first, notes=notes)
